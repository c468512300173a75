import CaseSyncServer
import Foundation
import Logging
import Metrics
import PostgresNIO
import Synchronization

/// What an instance knows of each scope's facts (horizon, latest change, checksum) without asking the
/// database, kept true by PostgreSQL's notifications: every push names the scopes it changed on the
/// channel `casesync_changes_SCHEMA` as it commits, compaction says "everything", and this instance
/// listens on one connection of its pool. (Notifications are the database's, not the schema's: the
/// schema in the name keeps deployments that share a database apart.)
///
/// Knowing is not enough to answer "nothing new": a change another instance committed just before the
/// request arrived may not have been heard yet. So an answer from memory first waits for a *barrier*:
/// this instance sends a notification of its own and waits to hear it back. PostgreSQL delivers
/// notifications in commit order, so by then every change committed before the request arrived has been
/// heard and its scope forgotten; what is still known is as fresh as a read of the database would have
/// been (PROTOCOL.md §13). Barriers are shared: every request waiting when one is sent is served by it,
/// so sixty-four devices asking at once cost the database one notification, not sixty-four queries.
///
/// While the connection is down (or before it listens), nothing is known and every pull asks the database.
final class ScopeWatch: Sendable {
    /// The channel's name, as SQL: the same in every statement of every instance on one schema.
    static let channel = "'casesync_changes_' || current_schema()"
    /// Scopes known at most; past it the memory starts over.
    static let capacity = 200_000
    /// How long a barrier may take to be heard back before the listening connection is presumed lost
    /// (it is then opened again, and the requests waiting for it ask the database).
    static let barrierTimeout: Duration = .seconds(1)

    private struct Waiter {
        let needed: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var listening = false
        /// Set when the store stops: nothing is known or waited for from then on.
        var closed = false
        var known: [String: PullPageBuilder.ScopeFacts] = [:]
        /// Reads of the database in flight, by scope: a change heard meanwhile cancels the read's right to be remembered.
        var reads: [String: UInt64] = [:]
        var nextRead: UInt64 = 0
        /// The last barrier whose sending has begun, and the last heard back.
        var sent: UInt64 = 0
        var heard: UInt64 = 0
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        /// Whether the sender task is sending or about to.
        var sending = false
        /// The sender waiting to hear its barrier back, and the last barrier given up on.
        var sender: (number: UInt64, continuation: CheckedContinuation<Bool, Never>)?
        var givenUp: UInt64 = 0
        /// Ends the listener's attempt, so that it listens again on another connection.
        var reconnect: (@Sendable () -> Void)?
        /// Whether a barrier was heard back since listening began (the listening works end to end).
        var barrierHeard = false
        /// Pulls answered from memory so far.
        var answered = 0
    }

    private let state = Mutex(State())
    /// This instance's name on the channel, so it hears its own barriers only.
    let instance = UUID().uuidString.lowercased()

    static let barriers = Counter(label: "casesync_pull_barriers_total")
    static let answeredFromMemory = Counter(label: "casesync_pull_known_total")

    // MARK: Knowing

    /// Whether notifications are heard (and so scopes can be known).
    var isListening: Bool { state.withLock { $0.listening } }

    /// Pulls this instance answered from memory.
    var answeredFromMemoryCount: Int { state.withLock { $0.answered } }

    func countAnswerFromMemory() {
        state.withLock { $0.answered += 1 }
        Self.answeredFromMemory.increment()
    }

    /// The scope's facts, if known.
    func known(_ scope: String) -> PullPageBuilder.ScopeFacts? {
        state.withLock { $0.listening ? $0.known[scope] : nil }
    }

    /// Marks the start of a read of the scope's facts from the database; nil while not listening.
    func beginRead(_ scope: String) -> UInt64? {
        state.withLock { state in
            guard state.listening else { return nil }
            state.nextRead += 1
            state.reads[scope] = state.nextRead
            return state.nextRead
        }
    }

    /// Remembers what a read found, unless a change to the scope was heard since it began.
    func finishRead(_ scope: String, token: UInt64, facts: PullPageBuilder.ScopeFacts) {
        state.withLock { state in
            guard state.listening, state.reads[scope] == token else { return }
            state.reads[scope] = nil
            if state.known.count >= Self.capacity { state.known.removeAll(keepingCapacity: true) }
            state.known[scope] = facts
        }
    }

    /// A notification's payload: `s SCOPE…` (these scopes changed), `*` (anything may have changed),
    /// or `b INSTANCE N` (an instance's barrier N).
    func heard(_ payload: String) {
        let words = payload.split(separator: " ")
        switch words.first {
        case "s":
            state.withLock { state in
                for scope in words.dropFirst() {
                    state.known[String(scope)] = nil
                    state.reads[String(scope)] = nil
                }
            }
        case "b" where words.count == 3 && words[1] == instance:
            guard let number = UInt64(words[2]) else { return }
            let (released, sender) = state.withLock { state in
                state.heard = max(state.heard, number)
                state.barrierHeard = true
                var sender: CheckedContinuation<Bool, Never>?
                if let waiting = state.sender, waiting.number <= number {
                    sender = waiting.continuation
                    state.sender = nil
                }
                return (Self.takeWaiters(&state) { $0.needed <= number }, sender)
            }
            for continuation in released { continuation.resume(returning: true) }
            sender?.resume(returning: true)
        case "b":
            break
        default:
            forgetAll(listening: nil)
        }
    }

    /// Forgets every scope (and ends every wait for a barrier, unanswered); `listening` says whether
    /// notifications are heard from now on (nil: unchanged; never again once closed).
    func forgetAll(listening: Bool?) {
        let released = state.withLock { state in
            if let listening {
                state.listening = listening && !state.closed
                if state.listening { state.barrierHeard = false }
            }
            state.known.removeAll()
            state.reads.removeAll()
            return Self.takeWaiters(&state) { _ in true }
        }
        for continuation in released { continuation.resume(returning: false) }
    }

    /// The store stops: nothing is known from now on, and nobody waits.
    func close() {
        let sender = state.withLock { state in
            state.closed = true
            defer { state.sender = nil }
            return state.sender?.continuation
        }
        forgetAll(listening: false)
        sender?.resume(returning: false)
    }

    /// Whether a barrier was heard back since listening last began.
    var hasHeardBarrier: Bool { state.withLock { $0.barrierHeard } }

    /// Whether the store has stopped.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// What ends the listener's current attempt (when a barrier is not heard back).
    func onLost(_ reconnect: @escaping @Sendable () -> Void) {
        state.withLock { $0.reconnect = reconnect }
    }

    private static func takeWaiters(_ state: inout State, where chosen: (Waiter) -> Bool) -> [CheckedContinuation<Bool, Never>] {
        let taken = state.waiters.filter { chosen($0.value) }
        for key in taken.keys { state.waiters[key] = nil }
        return taken.values.map(\.continuation)
    }

    // MARK: Barriers

    /// Waits until a barrier sent after this call has been heard back: true then; false when the
    /// instance is not listening, or the barrier is not heard within `barrierTimeout`.
    func barrier(send: @escaping @Sendable (_ payload: String) async throws -> Void, logger: Logger) async -> Bool {
        await withCheckedContinuation { continuation in
            let startSender = state.withLock { state -> Bool in
                guard state.listening else {
                    continuation.resume(returning: false)
                    return false
                }
                // A barrier whose sending began before now might have been committed before a change
                // this request must see: only a later one will do.
                state.nextWaiter += 1
                state.waiters[state.nextWaiter] = Waiter(needed: state.sent + 1, continuation: continuation)
                guard !state.sending else { return false }
                state.sending = true
                return true
            }
            if startSender {
                // Its own task, which always ends: every wait it serves ends with it.
                Task { await self.sendBarriers(send, logger: logger) }
            }
        }
    }

    /// Sends barriers one after another while some waiter needs one that has not been sent, and waits
    /// for each to be heard back (at most `barrierTimeout`).
    private func sendBarriers(_ send: @Sendable (String) async throws -> Void, logger: Logger) async {
        while true {
            let number = state.withLock { state -> UInt64? in
                guard state.listening, state.waiters.values.contains(where: { $0.needed > state.sent }) else {
                    state.sending = false
                    return nil
                }
                state.sent += 1
                return state.sent
            }
            guard let number else { return }
            Self.barriers.increment()
            do {
                try await send("b \(instance) \(number)")
            } catch {
                logger.warning("a pull barrier could not be sent", metadata: ["casesync.error_type": "\(type(of: error))"])
                forgetAll(listening: nil)
                continue
            }
            guard await heardBack(number) else {
                // Not heard in time: the connection is presumed lost. Open another; until it listens,
                // pulls ask the database.
                logger.warning("a pull barrier was not heard back in time; listening again")
                let reconnect = state.withLock { $0.reconnect }
                forgetAll(listening: false)
                reconnect?()
                continue
            }
        }
    }

    /// Waits until barrier `number` is heard back: false after `barrierTimeout`, or once closed.
    private func heardBack(_ number: UInt64) async -> Bool {
        let timer = Task { [weak self] in
            try await Task.sleep(for: Self.barrierTimeout)
            self?.giveUp(number)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let answer = state.withLock { state -> Bool? in
                if state.heard >= number { return true }
                if state.givenUp >= number || state.closed { return false }
                state.sender = (number, continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    private func giveUp(_ number: UInt64) {
        let sender = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.givenUp = max(state.givenUp, number)
            guard let waiting = state.sender, waiting.number <= number else { return nil }
            state.sender = nil
            return waiting.continuation
        }
        sender?.resume(returning: false)
    }
}

extension PostgresSyncStore {
    /// Listens for changes on one connection of the pool while the store runs; after the connection
    /// fails (or a barrier is not heard back), forgets everything and listens again.
    func listenForChanges() async {
        var pause: Duration = .milliseconds(100)
        while !Task.isCancelled {
            // One attempt runs in a task of its own, so that a barrier that is not heard back can end it.
            let attempt = Task {
                try await client.withConnection { connection in
                    var channel = ""
                    for try await name in try await connection.query("SELECT \(unescaped: ScopeWatch.channel)", logger: logger)
                        .decode(String.self)
                    {
                        channel = name
                    }
                    try await connection.listen(on: channel) { notifications in
                        // Whatever changed before LISTEN took effect was not heard: start from nothing.
                        watch.forgetAll(listening: true)
                        for try await notification in notifications {
                            await environment.hearing(notification.payload)
                            watch.heard(notification.payload)
                        }
                    }
                }
            }
            watch.onLost { attempt.cancel() }
            do {
                try await withTaskCancellationHandler { try await attempt.value } onCancel: { attempt.cancel() }
            } catch {
                if Task.isCancelled { break }
                logger.warning("listening for changes failed; pulls ask the database until it listens again",
                               metadata: ["casesync.error_type": "\(type(of: error))"])
            }
            // A connection that worked is opened again at once; one on which no barrier came back (a
            // pooler that does not carry notifications, say) ever more rarely, up to once a minute.
            if watch.hasHeardBarrier { pause = .milliseconds(100) }
            watch.forgetAll(listening: false)
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(60))
        }
    }

    /// Sends a notification through the pool, without waiting for the disk (it carries no data).
    @Sendable func notify(_ payload: String) async throws {
        try await client.query(
            "SELECT set_config('synchronous_commit', 'off', true), pg_notify(\(unescaped: ScopeWatch.channel), \(payload))",
            logger: logger)
    }
}
