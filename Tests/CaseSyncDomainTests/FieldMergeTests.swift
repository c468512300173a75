import CaseSyncDomain
import CaseSyncProtocol
import Testing

@Suite("Three-way field merge")
struct FieldMergeTests {
    static let older = HLCTimestamp(millis: 1_000, counter: 0, node: "a")
    static let newer = HLCTimestamp(millis: 2_000, counter: 0, node: "b")

    struct Row: Sendable, CustomTestStringConvertible {
        var field: CaseField
        var base: String?
        var client: String?
        var server: String?
        var clientClock: HLCTimestamp
        var serverClock: HLCTimestamp?
        var value: String?
        var changed: Bool
        var winner: MergeWinner?
        var testDescription: String { "\(field.rawValue) base=\(base ?? "nil") client=\(client ?? "nil") server=\(server ?? "nil")" }
    }

    /// Every policy: only the client changed, nobody changed, both made the same change,
    /// both changed differently (each clock order), and clearing a value.
    static let table: [Row] = CaseField.allCases.flatMap { field -> [Row] in
        let lww = field.policy != .citizenProse
        return [
            Row(field: field, base: "a", client: "b", server: "a", clientClock: older, serverClock: newer, value: "b", changed: true, winner: nil),
            Row(field: field, base: "a", client: "a", server: "a", clientClock: newer, serverClock: older, value: "a", changed: false, winner: nil),
            Row(field: field, base: "a", client: "c", server: "c", clientClock: newer, serverClock: older, value: "c", changed: false, winner: nil),
            Row(field: field, base: "a", client: "b", server: "c", clientClock: newer, serverClock: older,
                value: lww ? "b" : "c", changed: lww, winner: lww ? .client : .server),
            Row(field: field, base: "a", client: "b", server: "c", clientClock: older, serverClock: newer, value: "c", changed: false, winner: .server),
            Row(field: field, base: nil, client: "b", server: nil, clientClock: older, serverClock: nil, value: "b", changed: true, winner: nil),
            Row(field: field, base: "a", client: nil, server: "a", clientClock: older, serverClock: newer, value: nil, changed: true, winner: nil),
            Row(field: field, base: "a", client: nil, server: "c", clientClock: newer, serverClock: nil,
                value: lww ? nil : "c", changed: lww, winner: lww ? .client : .server),
        ]
    }

    @Test(arguments: table)
    func merge(_ row: Row) {
        let result = FieldMerge.merge(
            field: row.field, base: row.base, client: row.client, clientClock: row.clientClock, server: row.server,
            serverClock: row.serverClock)
        #expect(result.value == row.value)
        #expect(result.changed == row.changed)
        #expect(result.conflict?.winner == row.winner)
        if let conflict = result.conflict {
            #expect(conflict.policy == row.field.policy)
            #expect(conflict.clientValue == row.client)
            #expect(conflict.serverValue == row.server)
        }
    }

    @Test("the winner's clock is kept with the field")
    func clockFollowsWinner() {
        let clientWins = FieldMerge.merge(
            field: .contactEmail, base: "a", client: "b", clientClock: Self.newer, server: "c", serverClock: Self.older)
        #expect(clientWins.clock == Self.newer)
        let serverWins = FieldMerge.merge(
            field: .contactEmail, base: "a", client: "b", clientClock: Self.older, server: "c", serverClock: Self.newer)
        #expect(serverWins.clock == Self.newer)
    }

    @Test("equal wall times are ordered by counter, then node")
    func hlcTieBreak() {
        let a = HLCTimestamp(millis: 5, counter: 1, node: "a")
        let b = HLCTimestamp(millis: 5, counter: 1, node: "b")
        let merged = FieldMerge.merge(field: .contactPhone, base: "0", client: "1", clientClock: b, server: "2", serverClock: a)
        #expect(merged.value == "1")
    }
}

@Suite("Hybrid logical clock")
struct HybridLogicalClockTests {
    @Test func readingsIncreaseEvenWhenTheWallClockStandsStillOrGoesBack() {
        var clock = HybridLogicalClock(node: "n")
        let first = clock.tick(now: Timestamp(millisecondsSince1970: 100))
        let second = clock.tick(now: Timestamp(millisecondsSince1970: 100))
        let third = clock.tick(now: Timestamp(millisecondsSince1970: 50))
        #expect(first < second && second < third)
        #expect(third.millis == 100 && third.counter == 2)
    }

    @Test func observingARemoteReadingMovesTheClockPastIt() {
        var clock = HybridLogicalClock(node: "n")
        clock.observe(HLCTimestamp(millis: 9_000, counter: 7, node: "other"), now: Timestamp(millisecondsSince1970: 10))
        let next = clock.tick(now: Timestamp(millisecondsSince1970: 10))
        #expect(next > HLCTimestamp(millis: 9_000, counter: 7, node: "other"))
    }

    @Test func aReadingFarAheadOfTheWallClockIsNotTakenIn() {
        var clock = HybridLogicalClock(node: "n")
        let now = Timestamp(millisecondsSince1970: 1_772_443_800_000)
        clock.observe(HLCTimestamp(millis: HLCTimestamp.maxMillis, counter: 0xffff, node: "forger"), now: now)
        #expect(clock.tick(now: now) == HLCTimestamp(millis: now.millisecondsSince1970, counter: 0, node: "n"))
    }

    @Test func theClockNeverLeavesTheWireForm() {
        var clock = HybridLogicalClock(node: "n", last: HLCTimestamp(millis: HLCTimestamp.maxMillis, counter: 0xfffe, node: "n"))
        let now = Timestamp(millisecondsSince1970: HLCTimestamp.maxMillis + 5)
        for _ in 0..<3 {
            let reading = clock.tick(now: now)
            #expect(reading.millis <= HLCTimestamp.maxMillis)
            #expect(HLCTimestamp(reading.description) == reading)
        }
    }

    @Test func wireFormRoundTripsAndSortsLikeTheReading() throws {
        let readings = [
            HLCTimestamp(millis: 1_772_443_800_000, counter: 0, node: "z"),
            HLCTimestamp(millis: 1_772_443_800_000, counter: 10, node: "a"),
            HLCTimestamp(millis: 1_772_443_800_001, counter: 0, node: "a-b-c"),
        ]
        for reading in readings { #expect(HLCTimestamp(reading.description) == reading) }
        #expect(readings.map(\.description) == readings.map(\.description).sorted())
        #expect(HLCTimestamp("nonsense") == nil)
        for forged in ["1772443800000-0000-", "1772443800000-00AB-node", "1772443800000-0000-node\"", "1772443800000-0000-no de",
                       "1772443800000-0000-" + String(repeating: "a", count: 65), "177244380000x-0000-node"] {
            #expect(HLCTimestamp(forged) == nil, "\(forged)")
        }
    }
}
