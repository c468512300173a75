import Synchronization

/// Totals over every schedule of a run, printed by `tools/simulate`.
final class SimulationTally: Sendable {
    private let totals = Mutex([String: Int]())

    func add(_ world: SimWorld) {
        let faults = world.devices.reduce(0) { $0 + $1.transport.faultsStruck }
        let refused = world.devices.reduce(0) { $0 + $1.refusedLocally }
        let mutations = world.devices.reduce(0) { $0 + $1.queued.count }
        let conflicts = world.devices.reduce(0) { total, device in
            total + ((try? device.client.serverCopy().filter { $0.type == .conflict }.count) ?? 0)
        }
        let deadLetters = world.devices.reduce(0) { $0 + ((try? $1.client.deadLetters().count) ?? 0) }
        totals.withLock {
            $0["schedules", default: 0] += 1
            $0["mutations", default: 0] += mutations + world.rogue.sent.count
            $0["syncs", default: 0] += world.stats.syncs
            $0["failed syncs", default: 0] += world.stats.failedSyncs
            $0["network faults", default: 0] += faults
            $0["server restarts", default: 0] += world.stats.serverRestarts
            $0["client restarts", default: 0] += world.stats.clientRestarts
            $0["refused locally", default: 0] += refused
            $0["findings", default: 0] += world.findings.count
            $0["conflict records held", default: 0] += conflicts
            $0["dead letters", default: 0] += deadLetters
            $0["crafted pushes refused", default: 0] += world.rogue.craftedRefused
        }
    }

    var summary: String { totals.withLock { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") } }
}
