import CaseSyncTesting
import Foundation
import Testing

/// Deterministic simulation: each seed is one schedule of edits, syncs and faults against the real
/// server logic and real SQLite stores. Seeds 1…CASESYNC_SIM_SEEDS (default 2,000) of CASESYNC_SIM_STEPS (default 50) steps run in batches;
/// CASESYNC_SIM_SEED=N replays one seed and prints its trace. `tools/simulate` runs any number.
@Suite("Deterministic simulation")
struct SimulationTests {
    static let environment = ProcessInfo.processInfo.environment
    static let total = Int(environment["CASESYNC_SIM_SEEDS"] ?? "") ?? 2_000
    static let first = UInt64(environment["CASESYNC_SIM_FIRST_SEED"] ?? "") ?? 1
    static let steps = Int(environment["CASESYNC_SIM_STEPS"] ?? "") ?? 50
    static let batches = 16
    /// Schedules on PostgreSQL (CASESYNC_SIM_POSTGRES_SEEDS, default 200), when the run has a cluster.
    static let postgresTotal = Int(environment["CASESYNC_SIM_POSTGRES_SEEDS"] ?? "") ?? 200
    static let postgresBatches = 4

    @Test(arguments: 0..<batches)
    func schedules(batch: Int) async throws {
        if let replay = Self.environment["CASESYNC_SIM_SEED"].flatMap(UInt64.init) {
            guard batch == 0 else { return }
            try await Self.run(seed: replay, printTrace: true)
            return
        }
        let perBatch = (Self.total + Self.batches - 1) / Self.batches
        let range = (batch * perBatch)..<min(Self.total, (batch + 1) * perBatch)
        let tally = SimulationTally()
        for offset in range {
            tally.add(try await Self.run(seed: Self.first + UInt64(offset), printTrace: false))
        }
        if !range.isEmpty { print("SIMULATION \(tally.summary)") }
    }

    /// The same schedules (the first seeds) against the PostgreSQL store.
    @Test(.enabled(if: StoreBackend.underTest.contains(.postgres)), arguments: 0..<postgresBatches)
    func postgresSchedules(batch: Int) async throws {
        guard Self.environment["CASESYNC_SIM_SEED"] == nil else { return }
        let perBatch = (Self.postgresTotal + Self.postgresBatches - 1) / Self.postgresBatches
        let range = (batch * perBatch)..<min(Self.postgresTotal, (batch + 1) * perBatch)
        let tally = SimulationTally()
        for offset in range {
            tally.add(try await Self.run(seed: Self.first + UInt64(offset), printTrace: false, backend: .postgres))
        }
        if !range.isEmpty { print("SIMULATION on PostgreSQL \(tally.summary)") }
    }

    @discardableResult
    static func run(seed: UInt64, printTrace: Bool, backend: StoreBackend = .sqlite) async throws -> SimWorld {
        let world = try await SimWorld(seed: seed, backend: backend)
        try await world.run(steps: steps)
        try await world.checkInvariants()
        if printTrace || !world.findings.isEmpty {
            print(world.trace.joined(separator: "\n"))
            print("seed \(seed): \(world.stats)")
        }
        for finding in world.findings {
            Issue.record("seed \(seed) on \(backend): \(finding)\nreplay: tools/simulate --seed \(seed)")
        }
        return world
    }
}
