import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One sync of a device at a time. Two syncs that overlap (the command line run twice, an app's
/// background and foreground sync) would each apply pages against a cursor the other moves, and a
/// checksum that then disagrees sends the device into a full re-pull; so the second waits for the
/// first. In one process an async lock does it; across processes, an advisory lock on a file beside the
/// database (`flock`, which the system releases when a process dies, however it dies).
public final class SyncLock: Sendable {
    private let path: String?
    private let state = Mutex<(held: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    /// How often a sync waiting for another process's looks again.
    static let poll: Duration = .milliseconds(20)

    /// `path`: the lock file (nil: this process only, for a database in memory).
    init(path: String?) {
        self.path = path
    }

    /// Runs `body` once no other sync of this device runs.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        guard let path else { return try await body() }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ClientError(.storage, "cannot open \(path): check the permissions of this device's folder")
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw ClientError(.storage, "cannot lock \(path) (error \(errno)); keep this device's folder on a local disk")
            }
            try await Task.sleep(for: Self.poll)
        }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

/// Sync calls of one device in one process that overlap share runs: a call while a sync runs joins the
/// one queued to run next (queuing it if there is none), so every caller's edits made before its call
/// are sent, and however many screens ask at once, at most one sync runs and one waits. A caller that is
/// cancelled stops waiting once the run ends; when every caller of a run is cancelled, the run is too
/// (an app's background time running out stops its sync).
final class SyncJoiner: Sendable {
    private final class Run: Sendable {
        let task: Task<SyncReport, any Error>
        /// Callers still waiting for it.
        let callers = Mutex(1)

        init(_ task: Task<SyncReport, any Error>) { self.task = task }
    }

    private struct State {
        var last: Run?
        var lastId = 0
        var lastStarted = true
    }
    private let state = Mutex(State())

    func join(_ body: @escaping @Sendable () async throws -> SyncReport) async throws -> SyncReport {
        let run = state.withLock { state -> Run in
            if let last = state.last, !state.lastStarted {
                last.callers.withLock { $0 += 1 }
                return last
            }
            let previous = state.last
            state.lastId += 1
            let id = state.lastId
            state.lastStarted = previous == nil
            let run = Run(Task<SyncReport, any Error> { [weak self] in
                if let previous {
                    _ = await previous.task.result
                    self?.state.withLock { state in if state.lastId == id { state.lastStarted = true } }
                }
                defer { self?.state.withLock { state in if state.lastId == id { state.last = nil } } }
                try Task.checkCancellation()
                return try await body()
            })
            state.last = run
            return run
        }
        return try await withTaskCancellationHandler {
            try await run.task.value
        } onCancel: {
            if run.callers.withLock({ $0 -= 1; return $0 }) == 0 { run.task.cancel() }
        }
    }
}
