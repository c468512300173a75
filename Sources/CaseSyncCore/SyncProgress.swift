import Foundation
import Synchronization

/// How far a running sync has come: what it sent of the outbox, the pages and records it pulled. A
/// first sync of a large scope takes a while; a front shows this (the command line as `git clone`
/// does), and `SyncReport` says the same once the sync is done.
public struct SyncProgress: Sendable, Hashable, Codable {
    public enum Phase: String, Sendable, Hashable, Codable {
        /// Sending the outbox.
        case pushing
        /// Fetching what changed, page by page.
        case pulling
    }

    public var phase: Phase
    /// Mutations sent so far, of `toPush` waiting when the sync began.
    public var pushed: Int
    public var toPush: Int
    /// Pages and records pulled so far (the server does not say how many are left).
    public var pages: Int
    public var records: Int
    /// The device is pulling its whole scope again.
    public var repairing: Bool

    init(phase: Phase, report: SyncReport, toPush: Int) {
        self.phase = phase
        self.pushed = report.pushed
        self.toPush = toPush
        self.pages = report.pages
        self.records = report.pulled
        self.repairing = report.repaired
    }
}

/// The progress of this device's running sync, to every observer in this process: the newest value
/// now, then each change, nil while no sync runs.
final class ProgressChannel: Sendable {
    private struct State {
        var value: SyncProgress?
        var observers: [Int: AsyncStream<SyncProgress?>.Continuation] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    func send(_ value: SyncProgress?) {
        let observers = state.withLock { state in
            state.value = value
            return Array(state.observers.values)
        }
        for observer in observers { observer.yield(value) }
    }

    /// A screen wants the newest figures only (`bufferingNewest(1)`); a test may keep them all.
    func stream(buffering: AsyncStream<SyncProgress?>.Continuation.BufferingPolicy = .bufferingNewest(1)) -> AsyncStream<SyncProgress?> {
        AsyncStream(bufferingPolicy: buffering) { continuation in
            let key = state.withLock { state in
                let key = state.next
                state.next += 1
                state.observers[key] = continuation
                continuation.yield(state.value)
                return key
            }
            continuation.onTermination = { [weak self] _ in
                _ = self?.state.withLock { $0.observers.removeValue(forKey: key) }
            }
        }
    }
}
