import Synchronization

/// Devices waiting for news of their scope (`GET /sync/wait`), and the wake-up when a scope changes.
/// A store tells it of every committed change: the SQLite store as its transaction commits, the
/// PostgreSQL store as it hears each instance's notification (its own included), so a push on one
/// instance wakes the devices waiting on another. Only the devices of a changed scope wake: another
/// authority's push wakes no one of this one.
///
/// A wake-up is a hint to pull, never data: a waiting device then pulls as always. What it missed
/// cannot be lost with a notification, because each wait begins by asking the store whether the scope
/// changed past the device's cursor (after registering, so that a change in between wakes it), and
/// where notifications can be lost (a PostgreSQL connection that drops) the wait asks again every
/// `recheck`.
public final class ScopeChanges: Sendable {
    /// How a wait ended.
    public enum Outcome: Sendable, Hashable {
        /// The scope changed (or the store says it had changed past the cursor).
        case changed
        /// The time ran out without news.
        case timedOut
        /// The wait was ended: the server stops, the request was cancelled, or the device began a newer one.
        case ended
    }

    private struct Waiter {
        var scope: String
        /// The device waiting (nil: not counted per device).
        var device: String?
        /// Set when the scope changed before the waiter began to sleep.
        var woken = false
        var continuation: CheckedContinuation<Outcome, Never>?
        /// When the wait ends without news.
        var deadline: ContinuousClock.Instant
    }

    private struct State {
        var waiters: [Int: Waiter] = [:]
        /// The waiters of each scope.
        var byScope: [String: Set<Int>] = [:]
        /// Each device's waiters, oldest first.
        var byDevice: [String: [Int]] = [:]
        var next = 0
        var closed = false
        /// Whether the sweeper runs (while anyone waits).
        var sweeping = false
        /// Waiters by the sweep that ends them (their deadline in sweeps since `start`, rounded up), so
        /// that a sweep looks at the waits ending then, not at every wait. A woken waiter stays listed
        /// until its sweep comes and finds it gone.
        var ending: [Int64: [Int]] = [:]
    }

    private let state = Mutex(State())
    /// How often a wait asks the store again, where notifications can be lost (nil: they cannot).
    public let recheck: Duration?
    /// Waits one device may hold at once: a newer one ends the oldest (unchanged), so that a device —
    /// or whoever holds its token — cannot pile up waits that the server keeps asking the store about.
    public static let waitsPerDevice = 2
    /// How often the sweeper ends the waits whose time ran out (one task for all of them: a clock of
    /// its own for each would cost every waiting device a task).
    static let sweep: Duration = .milliseconds(100)
    private let start = ContinuousClock.now

    /// The sweep at or after `instant`.
    private func sweepNumber(_ instant: ContinuousClock.Instant, roundingUp: Bool) -> Int64 {
        let elapsed = start.duration(to: instant)
        let sweeps = Double(elapsed.components.seconds) * 10 + Double(elapsed.components.attoseconds) / 1e17
        return Int64(roundingUp ? sweeps.rounded(.up) : sweeps.rounded(.down))
    }

    public init(recheck: Duration? = nil) {
        self.recheck = recheck
    }

    /// Devices waiting now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Whether the server is stopping (no wait begins any more).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Waits until `scope` changes, for at most `timeout`: `changed` when it did (or `check`, run once
    /// the wait is registered, finds it changed already), `timedOut` when the time ran out, `ended` when
    /// the server stops, the task is cancelled, or `device` began more than `waitsPerDevice` waits.
    public func wait(
        scope: String, device: String? = nil, timeout: Duration, check: () async throws -> Bool
    ) async throws -> Outcome {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let (id, ended) = state.withLock { state -> (Int?, CheckedContinuation<Outcome, Never>?) in
            guard !state.closed else { return (nil, nil) }
            state.next += 1
            state.waiters[state.next] = Waiter(scope: scope, device: device, deadline: deadline)
            state.byScope[scope, default: []].insert(state.next)
            guard let device else { return (state.next, nil) }
            state.byDevice[device, default: []].append(state.next)
            guard let oldest = state.byDevice[device], oldest.count > Self.waitsPerDevice else { return (state.next, nil) }
            // (One still asking the store finds itself gone when it would sleep.)
            return (state.next, Self.remove(oldest[0], &state)?.continuation)
        }
        ended?.resume(returning: .ended)
        guard let id else { return .ended }
        do {
            if try await check() {
                _ = take(id)
                return .changed
            }
        } catch {
            _ = take(id)
            throw error
        }
        // No time to sleep: news only if a change came while the store was asked.
        guard timeout > .zero else {
            return state.withLock { state in
                guard let waiter = Self.remove(id, &state) else { return .ended }
                return waiter.woken ? .changed : .timedOut
            }
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let (woken, startSweeper) = state.withLock { state -> (Bool?, Bool) in
                    guard var waiter = state.waiters[id] else { return (nil, false) }
                    if waiter.woken { return (true, false) }
                    waiter.continuation = continuation
                    state.waiters[id] = waiter
                    state.ending[sweepNumber(deadline, roundingUp: true), default: []].append(id)
                    // Whichever comes first, a change or the sweeper finding the time ran out, resumes it.
                    defer { state.sweeping = true }
                    return (false, !state.sweeping)
                }
                switch woken {
                case nil: continuation.resume(returning: .ended)
                case true?:
                    _ = take(id)
                    continuation.resume(returning: .changed)
                case false?:
                    if startSweeper { Task { [weak self] in await self?.sweepWhileWaiting() } }
                }
            }
        } onCancel: {
            take(id)?.resume(returning: .ended)
        }
    }

    /// These scopes changed: their waiting devices wake.
    public func changed(_ scopes: some Sequence<String>) {
        let woken = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
            var woken: [CheckedContinuation<Outcome, Never>] = []
            for scope in scopes {
                guard let ids = state.byScope.removeValue(forKey: scope) else { continue }
                for id in ids { if let continuation = Self.wake(id, &state) { woken.append(continuation) } }
            }
            return woken
        }
        for continuation in woken { continuation.resume(returning: .changed) }
    }

    /// Anything may have changed (a compaction, a restore, notifications that may have been missed):
    /// every waiting device wakes and pulls.
    public func changedEverything() {
        let woken = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
            state.byScope.removeAll()
            return state.waiters.keys.compactMap { Self.wake($0, &state) }
        }
        for continuation in woken { continuation.resume(returning: .changed) }
    }

    /// The server stops: every wait ends now (unchanged), and none begins.
    public func close() {
        let ended = state.withLock { state -> [CheckedContinuation<Outcome, Never>] in
            state.closed = true
            let ended = state.waiters.values.compactMap(\.continuation)
            state.waiters.removeAll()
            state.byScope.removeAll()
            state.byDevice.removeAll()
            state.ending.removeAll()
            return ended
        }
        for continuation in ended { continuation.resume(returning: .ended) }
    }

    /// Ends the waits whose time ran out, every `sweep`, until nobody waits.
    private func sweepWhileWaiting() async {
        while true {
            try? await Task.sleep(for: Self.sweep)
            let now = ContinuousClock.now
            let due = sweepNumber(now, roundingUp: false)
            let (expired, done) = state.withLock { state -> ([CheckedContinuation<Outcome, Never>], Bool) in
                var expired: [CheckedContinuation<Outcome, Never>] = []
                for sweep in state.ending.keys where sweep <= due {
                    for id in state.ending.removeValue(forKey: sweep) ?? [] {
                        guard let waiter = state.waiters[id] else { continue }
                        // Still asking the store: it ends at the next sweep, once asleep.
                        guard waiter.continuation != nil else {
                            state.ending[due + 1, default: []].append(id)
                            continue
                        }
                        if let continuation = Self.remove(id, &state)?.continuation { expired.append(continuation) }
                    }
                }
                if state.waiters.isEmpty {
                    state.sweeping = false
                    state.ending.removeAll()
                }
                return (expired, state.waiters.isEmpty)
            }
            for continuation in expired { continuation.resume(returning: .timedOut) }
            if done { return }
        }
    }

    /// Wakes a waiter: its continuation if it sleeps (it is then gone), or a mark it finds as it goes to sleep.
    private static func wake(_ id: Int, _ state: inout State) -> CheckedContinuation<Outcome, Never>? {
        guard var waiter = state.waiters[id] else { return nil }
        guard let continuation = waiter.continuation else {
            waiter.woken = true
            state.waiters[id] = waiter
            return nil
        }
        _ = remove(id, &state)
        return continuation
    }

    /// Removes a waiter; its continuation, if it sleeps.
    @discardableResult
    private func take(_ id: Int) -> CheckedContinuation<Outcome, Never>? {
        state.withLock { Self.remove(id, &$0)?.continuation }
    }

    private static func remove(_ id: Int, _ state: inout State) -> Waiter? {
        guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
        state.byScope[waiter.scope]?.remove(id)
        if state.byScope[waiter.scope]?.isEmpty == true { state.byScope[waiter.scope] = nil }
        if let device = waiter.device {
            state.byDevice[device]?.removeAll { $0 == id }
            if state.byDevice[device]?.isEmpty == true { state.byDevice[device] = nil }
        }
        return waiter
    }
}
