import ArgumentParser
import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerPostgres
import Foundation
import Histogram
import Logging

// The floor PostgreSQL sets for each workload: the server's own store (the same rows through the same
// statements and transactions, its pool of 20 connections) called in this process, with no HTTP and no
// JSON. `push`, `initial-sync` and `noop-floor` run against it with `--database` instead of `--url`.

/// Where a workload goes: a server's URL, or (for the floor) a PostgreSQL database used in-process.
struct TargetOptions: ParsableArguments {
    @Option(help: "The server's URL.") var url: String?
    @Option(help: "Instead of a server: a PostgreSQL database (postgres://…) whose store runs in this process (the floor).")
    var database: String?

    func validate() throws {
        guard (url == nil) != (database == nil) else { throw ValidationError("name either --url or --database") }
    }

    /// Runs `body` with a transport per URL (or the one in-process store), each as `urls` names them.
    func withTransports<T: Sendable>(alsoUrl: [String] = [], _ body: ([any SyncTransport]) async throws -> T) async throws -> T {
        if let url {
            return try await body(([url] + alsoUrl).map { HTTPTransport(baseURL: URL(string: $0)!) })
        }
        // As the benchmark's servers run: no storage limit per citizen.
        var limits = ProtocolLimits()
        limits.maxAccountBytes = 0
        let store = try PostgresSyncStore(url: database!, limits: limits, logger: Logger(label: "bench"))
        return try await store.whileRunning { store in
            try await body([InProcessTransport(service: SyncService(store: store, limits: limits), readsPushJSON: false)])
        }
    }

    var serverURL: String { url ?? "http://in-process" }
}

/// Up-to-date devices asking for news as fast as they can, for `seconds`: the syncs per second and
/// their p99, in-process against the store (no HTTP, no JSON).
struct NoopFloor: AsyncParsableCommand {
    @OptionGroup var target: TargetOptions
    @Option(help: "A login code to redeem.") var code: String
    @Option var connections = 64
    @Option(name: .customLong("seconds")) var duration = 8

    func run() async throws {
        let (count, histogram, elapsed) = try await target.withTransports { transports in
            let transport = transports[0]
            let device = try await transport.redeem(RedeemRequest(code: code, deviceName: "bench"))
            let cursor = try await transport.pullPage(cursor: nil, limit: nil, token: device.token).cursor
            // As wrk's runs in tools/benchmark-postgres: 2 s first that do not count, for the pool to open its connections.
            _ = try await Self.ask(transport, token: device.token, cursor: cursor, connections: connections, for: .seconds(2))
            let start = ContinuousClock.now
            let results = try await Self.ask(transport, token: device.token, cursor: cursor, connections: connections, for: .seconds(duration))
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            for time in results { histogram.record(time) }
            return (results.count, histogram, seconds(since: start))
        }
        report("noop_floor", [
            "connections": Double(connections), "syncs": Double(count), "per_second": Double(count) / elapsed,
            "p99_ms": Double(histogram.valueAtPercentile(99)) / 1000,
        ])
    }

    /// Every connection's sync times (µs), asking without pause for `duration`.
    static func ask(_ transport: some SyncTransport, token: String, cursor: String, connections: Int, for duration: Duration)
        async throws -> [UInt64]
    {
        let deadline = ContinuousClock.now + duration
        return try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<connections {
                group.addTask {
                    var times: [UInt64] = []
                    while ContinuousClock.now < deadline {
                        let begin = ContinuousClock.now
                        let page = try await transport.pullPage(cursor: cursor, limit: nil, token: token)
                        guard page.changes.isEmpty else { throw ValidationError("a no-op sync found changes") }
                        let took = ContinuousClock.now - begin
                        times.append(UInt64(took.components.seconds) * 1_000_000 + UInt64(took.components.attoseconds / 1_000_000_000_000))
                    }
                    return times
                }
            }
            return try await group.reduce(into: []) { $0.append(contentsOf: $1) }
        }
    }
}
