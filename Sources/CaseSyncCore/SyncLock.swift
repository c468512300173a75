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
/// are sent, and however many screens ask at once, at most one sync runs and one waits.
final class SyncJoiner: Sendable {
    private struct State {
        var last: Task<SyncReport, any Error>?
        var lastId = 0
        var lastStarted = true
    }
    private let state = Mutex(State())

    func join(_ body: @escaping @Sendable () async throws -> SyncReport) async throws -> SyncReport {
        let task = state.withLock { state -> Task<SyncReport, any Error> in
            if let last = state.last, !state.lastStarted { return last }
            let previous = state.last
            state.lastId += 1
            let id = state.lastId
            state.lastStarted = previous == nil
            let task = Task<SyncReport, any Error> { [weak self] in
                if let previous {
                    _ = await previous.result
                    self?.state.withLock { state in if state.lastId == id { state.lastStarted = true } }
                }
                defer { self?.state.withLock { state in if state.lastId == id { state.last = nil } } }
                return try await body()
            }
            state.last = task
            return task
        }
        return try await task.value
    }
}
