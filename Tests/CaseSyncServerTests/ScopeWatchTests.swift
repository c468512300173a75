import CaseSyncProtocol
import CaseSyncServer
@testable import CaseSyncServerPostgres
import CaseSyncTesting
import Foundation
import Synchronization
import PostgresNIO
import Testing

/// An instance answers "nothing new" from what it knows of a scope only when that is as fresh as the
/// database: even when it hears of other instances' changes late, or not at all for a while.
@Suite("Scopes known from notifications", .enabled(if: StoreBackend.underTest.contains(.postgres)))
struct ScopeWatchTests {
    typealias Instances = ConcurrentInstancesTests.Instances
    typealias Pulled = ConcurrentInstancesTests.Pulled

    static func watch(_ instances: Instances, _ index: Int) -> ScopeWatch {
        (instances.services[index].store as! PostgresSyncStore).watch
    }

    /// Waits (at most 10 s) until the instance listens.
    static func listening(_ watch: ScopeWatch) async throws {
        for _ in 0..<200 where !watch.isListening { try await Task.sleep(for: .milliseconds(50)) }
        #expect(watch.isListening)
    }

    /// A case of the device's, filed through `transport`.
    static func file(_ number: Int64, by device: RedeemResponse, on transport: InProcessTransport) async throws {
        let id = testId("case\(number)", by: device.clientId)
        let response = try await transport.push(
            PushRequest(stamping: device.clientId, mutations: [.create(number, caseId: id)]), token: device.token)
        #expect(response.outcomes.map(\.status) == [.applied])
    }

    @Test func anInstanceThatHearsLateStillAnswersEveryChangeCommittedBeforeThePull() async throws {
        // The second instance hears of every change 60 ms after PostgreSQL tells it.
        let instances = try await Instances(waitMillis: 0...0, hearingMillis: [0, 60])
        let watch = Self.watch(instances, 1)
        try await Self.listening(watch)
        let laptop = try await instances.device(.citizen, name: "Anna")
        let phone = try await instances.services[0].store.redeem(
            RedeemRequest(code: try await instances.services[0].store.inviteDevice(accountId: laptop.account.id, validFor: 1).code,
                          deviceName: "phone"))
        var pulled = Pulled()
        try await pulled.pull(instances.transport(1), token: phone.token)
        for number in Int64(1)...12 {
            // Up to date, by what the second instance knows ...
            #expect(try await pulled.pull(instances.transport(1), token: phone.token) == 0)
            // ... then the laptop files a case through the first, and the phone asks the second at once.
            try await Self.file(number, by: laptop, on: instances.transport(0))
            let arrived = try await pulled.pull(instances.transport(1), token: phone.token)
            #expect(arrived == 2, "the case and its event, filed before the pull, are in its answer (case \(number))")
            #expect(pulled.checksum == pulled.computedChecksum)
        }
        #expect(pulled.records.count == 24)
        // And up-to-date devices were answered from memory, not by the database.
        #expect(watch.answeredFromMemoryCount >= 4)
    }

    @Test func anInstanceThatStopsHearingAsksTheDatabaseAndListensAgain() async throws {
        let instances = try await Instances(waitMillis: 0...0)
        let watch = Self.watch(instances, 1)
        try await Self.listening(watch)
        let anna = try await instances.device(.citizen, name: "Anna")
        var pulled = Pulled()
        try await pulled.pull(instances.transport(1), token: anna.token)
        try await pulled.pull(instances.transport(1), token: anna.token)
        let before = watch.answeredFromMemoryCount
        try await pulled.pull(instances.transport(1), token: anna.token)
        #expect(watch.answeredFromMemoryCount == before + 1)
        // The listening connections end (PostgreSQL ends them, as on a failover or a restart) ...
        // (only this test's: their last statement names its schema's channel)
        let store = try #require(instances.services[0].store as? PostgresSyncStore)
        var ended = 0
        for try await count in try await store.client.query(
            """
            SELECT count(pg_terminate_backend(pid))::INT FROM pg_stat_activity
            WHERE query LIKE 'LISTEN %' || md5(current_schema()) || '%' AND pid <> pg_backend_pid()
            """, logger: quietLogger
        ).decode(Int.self) {
            ended = count
        }
        #expect(ended == 2, "both instances' listening connections")
        // ... and changes made meanwhile are never missed: the instance asks the database until it listens again.
        for number in Int64(1)...5 {
            try await Self.file(number, by: anna, on: instances.transport(0))
            #expect(try await pulled.pull(instances.transport(1), token: anna.token) == 2)
        }
        try await Self.listening(watch)
        try await pulled.pull(instances.transport(1), token: anna.token)
        let again = watch.answeredFromMemoryCount
        try await pulled.pull(instances.transport(1), token: anna.token)
        #expect(watch.answeredFromMemoryCount == again + 1)
        #expect(pulled.records.count == 10 && pulled.checksum == pulled.computedChecksum)
    }

    @Test func aBarrierThatDoesNotComeBackEndsTheListeningAndItsSyncAsksTheDatabase() async throws {
        // The second instance hears its first barrier back only after 1.5 s: too late.
        let late = Mutex(1)
        let instances = try await Instances(waitMillis: 0...0, hearing: [nil, { payload in
            guard payload.hasPrefix("b "), late.withLock({ count in defer { count -= 1 }; return count > 0 }) else { return }
            try? await Task.sleep(for: .milliseconds(1_500))
        }])
        let watch = Self.watch(instances, 1)
        try await Self.listening(watch)
        let anna = try await instances.device(.citizen, name: "Anna")
        var pulled = Pulled()
        try await pulled.pull(instances.transport(1), token: anna.token)
        // The instance knows Anna's scope; her next sync waits for the barrier, gives up after a second
        // and is answered by the database; the listening that lost the barrier is ended.
        let start = ContinuousClock.now
        #expect(try await pulled.pull(instances.transport(1), token: anna.token) == 0)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(watch.answeredFromMemoryCount == 0)
        // It listens again on another connection, and answers from memory as before ...
        for _ in 0..<200 where !(watch.isListening && watch.hasHeardBarrier) {
            try await pulled.pull(instances.transport(1), token: anna.token)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(watch.isListening && watch.hasHeardBarrier)
        try await pulled.pull(instances.transport(1), token: anna.token)
        let before = watch.answeredFromMemoryCount
        try await pulled.pull(instances.transport(1), token: anna.token)
        #expect(watch.answeredFromMemoryCount == before + 1)
        // ... without missing a change.
        try await Self.file(1, by: anna, on: instances.transport(0))
        #expect(try await pulled.pull(instances.transport(1), token: anna.token) == 2)
        #expect(pulled.checksum == pulled.computedChecksum)
    }
}
