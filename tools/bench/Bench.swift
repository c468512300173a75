import ArgumentParser
import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB
import Histogram

/// Measurements of the sync path, each printing one JSON line. `tools/bench` runs them against a
/// release server and assembles BENCHMARKS.md.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casesync-bench",
        abstract: "Benchmarks of the CaseSync sync path (run through tools/bench).",
        subcommands: [
            RawInsert.self, Push.self, Seed.self, InitialSync.self, NoopLatency.self, KintoPush.self, KintoSeed.self,
            KintoInitialSync.self, ServerFloor.self, ClientFloor.self, NoopFloor.self,
        ])
}

/// Prints a figure as one JSON line.
func report(_ figure: String, _ values: [String: Double]) {
    var object: [String: Any] = ["figure": figure]
    for (key, value) in values { object[key] = value }
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// A new temporary folder for a benchmark's SQLite files; the caller removes it.
func scratchDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

struct ServerOptions: ParsableArguments {
    @OptionGroup var target: TargetOptions
    @Option(help: "A login code to redeem.") var code: String

    /// Runs `body` with the target's transport and the device the code logs in.
    func withLogin<T: Sendable>(_ body: (any SyncTransport, RedeemResponse) async throws -> T) async throws -> T {
        try await target.withTransports { transports in
            try await body(transports[0], try await transports[0].redeem(RedeemRequest(code: code, deviceName: "bench")))
        }
    }
}

/// The limit for writes: this machine's raw GRDB prepared-insert rate, one transaction.
struct RawInsert: AsyncParsableCommand {
    @Option var rows = 200_000
    @Option var bodyBytes = 400

    func run() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try DatabasePool(path: directory.appendingPathComponent("raw.sqlite").path)
        try await pool.write { db in
            try db.execute(sql: "CREATE TABLE records (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, version INTEGER NOT NULL, body BLOB NOT NULL)")
        }
        let body = Data(repeating: 0x61, count: bodyBytes)
        let start = ContinuousClock.now
        try await pool.write { db in
            let statement = try db.makeStatement(sql: "INSERT INTO records (id, seq, version, body) VALUES (?, ?, ?, ?)")
            for index in 0..<rows {
                try statement.execute(arguments: ["record-\(index)", index, 1, body])
            }
        }
        let elapsed = seconds(since: start)
        report("raw_insert", ["rows": Double(rows), "seconds": elapsed, "per_second": Double(rows) / elapsed])
    }
}

/// Mutations per second through HTTP into the server: half new cases, half 3-field edits of them,
/// from one or more devices pushing at once (each in order, as a device does).
struct Push: AsyncParsableCommand {
    @OptionGroup var server: ServerOptions
    @Option(help: "Login codes of further devices that push at the same time.") var alsoCode: [String] = []
    @Option(help: "Further instances of the same server: the devices take the URLs in turn.") var alsoUrl: [String] = []
    @Option var batch = 100
    @Option var mutations = 40_000
    @Option var authority = "gm0363"

    func run() async throws {
        let codes = [server.code] + alsoCode
        let share = mutations / codes.count
        let (sent, elapsed) = try await server.target.withTransports(alsoUrl: alsoUrl) { transports in
            let start = ContinuousClock.now
            let sent = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, code) in codes.enumerated() {
                    group.addTask { try await pushAll(code: code, transport: transports[index % transports.count], mutations: share) }
                }
                return try await group.reduce(0, +)
            }
            return (sent, seconds(since: start))
        }
        report("push", [
            "batch": Double(batch), "devices": Double(codes.count), "mutations": Double(sent), "seconds": elapsed,
            "per_second": Double(sent) / elapsed,
        ])
    }

    private func pushAll(code: String, transport: any SyncTransport, mutations: Int) async throws -> Int {
        let device = try await transport.redeem(RedeemRequest(code: code, deviceName: "bench"))
        var next: Int64 = 1
        var sent = 0
        let fields = ["title": "Parking fine", "grounds": "My permit was valid and on the dashboard.", "decisionReference": "PT-1",
                      "decisionDate": "2026-03-02"]
        while sent < mutations {
            // A batch creates cases in its first half and edits three fields of each in its second.
            let creations = min(batch / 2, (mutations - sent) / 2)
            guard creations > 0 else { break }
            var list: [Mutation] = []
            var ids: [String] = []
            for _ in 0..<creations {
                let id = CreatedId.make(from: UUID().uuidString.lowercased(), clientId: device.clientId)
                ids.append(id)
                list.append(Mutation(
                    mutationId: next, caseId: id, baseVersion: nil, hlc: HLCTimestamp(millis: 1_772_443_800_000 + next, counter: 0, node: device.clientId),
                    operation: .create(NewCase(kind: .objection, authorityId: authority, fields: fields))))
                next += 1
            }
            for id in ids {
                list.append(Mutation(
                    mutationId: next, caseId: id, baseVersion: 1, hlc: HLCTimestamp(millis: 1_772_443_800_000 + next, counter: 0, node: device.clientId),
                    operation: .edit([
                        FieldChange(field: "title", from: "Parking fine", to: "Parking fine, Oudegracht"),
                        FieldChange(field: "grounds", from: fields["grounds"], to: "The permit was valid; photo enclosed."),
                        FieldChange(field: "contactEmail", from: nil, to: "anna@example.org"),
                    ])))
                next += 1
            }
            let response = try await transport.push(PushRequest(clientId: device.clientId, mutations: list), token: device.token)
            guard response.outcomes.allSatisfy({ $0.status == .applied }) else {
                throw ValidationError("a benchmark mutation was not applied: \(response.outcomes.first { $0.status != .applied }!)")
            }
            sent += list.count
        }
        return sent
    }
}

/// Fills the server with submitted cases of one authority for the officer benchmarks.
struct Seed: AsyncParsableCommand {
    @OptionGroup var server: ServerOptions
    @Option var cases = 100_000
    @Option var authority = "gm0344"
    @Flag(help: "Cases as an officer's desk has them: decisions of many days, some tax assessments and committees, some drafts and withdrawals (for screens).")
    var varied = false

    func run() async throws {
        try await server.withLogin { transport, device in try await seed(transport, device) }
    }

    /// The fields of the `index`th case, and the status it is moved to after filing.
    private func make(_ index: Int) -> (fields: [String: String], then: CaseStatus?) {
        var fields = [
            "title": "Parking fine \(index)", "grounds": "Grounds of objection number \(index): the permit was valid.",
            "decisionReference": "PT-2026-\(index)", "decisionDate": "2026-03-02",
        ]
        guard varied else { return (fields, .submitted) }
        fields["decisionDate"] = CalendarDate(daysSince1970: CalendarDate("2026-01-05")!.daysSince1970 + index % 150).description
        if index % 3 == 0 { fields["decisionType"] = "municipal_tax" }
        if index % 7 == 0 { fields["title"] = "Building permit \(index)" }
        switch index % 20 {
        case 0: return (fields, nil)
        case 1: return (fields, .withdrawn)
        default: return (fields, .submitted)
        }
    }

    private func seed(_ transport: any SyncTransport, _ device: RedeemResponse) async throws {
        var next: Int64 = 1
        let start = ContinuousClock.now
        var made = 0
        while made < cases {
            let count = min(250, cases - made)
            var list: [Mutation] = []
            for index in 0..<count {
                let id = CreatedId.make(from: UUID().uuidString.lowercased(), clientId: device.clientId)
                let clock = HLCTimestamp(millis: 1_772_443_800_000 + next, counter: 0, node: device.clientId)
                let (fields, then) = make(made + index)
                list.append(Mutation(
                    mutationId: next, caseId: id, baseVersion: nil, hlc: clock,
                    operation: .create(NewCase(kind: .objection, authorityId: authority, fields: fields))))
                next += 1
                if let then {
                    if then == .withdrawn {
                        list.append(Mutation(
                            mutationId: next, caseId: id, baseVersion: 1, hlc: clock, operation: .transition(StatusTransition(to: .submitted))))
                        next += 1
                    }
                    list.append(Mutation(
                        mutationId: next, caseId: id, baseVersion: then == .withdrawn ? 2 : 1, hlc: clock,
                        operation: .transition(StatusTransition(to: then))))
                    next += 1
                }
            }
            _ = try await transport.push(PushRequest(clientId: device.clientId, mutations: list), token: device.token)
            made += count
        }
        report("seed", ["cases": Double(cases), "seconds": seconds(since: start)])
    }
}

/// An officer's device syncs everything from empty: pull + apply into its local SQLite store.
struct InitialSync: AsyncParsableCommand {
    @OptionGroup var server: ServerOptions
    @Option var pageSize = 5_000
    @Flag(help: "Then time the queries of an app's screens on the synced device.") var screens = false

    func run() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = CaseSyncClient(
            database: try LocalDatabase(path: directory.appendingPathComponent("officer.sqlite").path), pullPageSize: pageSize)
        let (result, elapsed) = try await server.target.withTransports { transports in
            try await client.login(serverURL: server.target.serverURL, code: server.code, deviceName: "bench", transport: transports[0])
            let start = ContinuousClock.now
            let result = try await client.sync(transport: transports[0])
            return (result, seconds(since: start))
        }
        let cases = try client.status().cases
        report("initial_sync", [
            "changes": Double(result.pulled), "cases": Double(cases), "pages": Double(result.pages), "seconds": elapsed,
            "per_second": Double(result.pulled) / elapsed,
        ])
        if screens { try measureScreens(client) }
    }

    /// Each query an app's screen makes, run 21 times on the device just synced: median and slowest.
    private func measureScreens(_ client: CaseSyncClient) throws {
        let sample = try client.cases(CaseQuery(limit: 1)).cases[0].id
        let queries: [(String, () throws -> Int)] = [
            ("list_page", { try client.cases(CaseQuery(limit: 50)).cases.count }),
            ("urgent_page", { try client.deadlineOverview(CaseQuery(limit: 50)).count }),
            ("status_urgent_page", { try client.cases(CaseQuery(status: .withdrawn, order: .mostUrgent, limit: 50)).cases.count }),
            ("authority_status_page", { try client.cases(CaseQuery(status: .submitted, authorityId: "gm0344", limit: 50)).cases.count }),
            ("search_reference", { try client.cases(CaseQuery(search: "PT-2026-4242", limit: 50)).cases.count }),
            ("search_title_words", { try client.cases(CaseQuery(search: "building 77", order: .mostUrgent, limit: 50)).cases.count }),
            ("search_nothing", { try client.cases(CaseQuery(search: "no such words", limit: 50)).cases.count }),
            ("case_by_prefix", { try client.caseId(matching: String(sample.prefix(8))) == sample ? 1 : 0 }),
            ("whole_list", { try client.cases().count }),
            ("whole_deadline_overview", { try client.deadlineOverview().count }),
        ]
        for (name, query) in queries {
            var times: [Double] = []
            var rows = 0
            for _ in 0..<(name.hasPrefix("whole") ? 3 : 21) {
                let start = ContinuousClock.now
                rows = try query()
                times.append(seconds(since: start) * 1000)
            }
            times.sort()
            report("screen_\(name)", ["rows": Double(rows), "median_ms": times[times.count / 2], "max_ms": times.last!])
        }
    }
}

/// The full client's no-op sync (nothing to push, nothing new to pull), one device, as a histogram.
struct NoopLatency: AsyncParsableCommand {
    @OptionGroup var server: ServerOptions
    @Option var count = 2_000

    func run() async throws {
        let client = CaseSyncClient(database: try LocalDatabase.inMemory())
        guard let url = server.target.url else { throw ValidationError("noop-latency measures a server: name --url") }
        let transport = HTTPTransport(baseURL: URL(string: url)!)
        try await client.login(serverURL: server.target.serverURL, code: server.code, deviceName: "bench", transport: transport)
        try await client.sync(transport: transport)
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        let start = ContinuousClock.now
        for _ in 0..<count {
            let begin = ContinuousClock.now
            try await client.sync(transport: transport)
            let elapsed = ContinuousClock.now - begin
            histogram.record(UInt64(elapsed.components.attoseconds / 1_000_000_000_000) + UInt64(elapsed.components.seconds) * 1_000_000)
        }
        let total = seconds(since: start)
        report("client_noop_sync", [
            "count": Double(count), "p50_ms": Double(histogram.valueAtPercentile(50)) / 1000,
            "p99_ms": Double(histogram.valueAtPercentile(99)) / 1000, "per_second": Double(count) / total,
        ])
    }
}
