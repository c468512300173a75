import CaseSyncServer
import Foundation
import Logging
import Metrics
import PostgresNIO
import Synchronization

/// What an instance knows of each scope's facts (horizon, latest change, checksum) without asking the
/// database, kept true by PostgreSQL's notifications: every push names the scopes it changed on the
/// schema's channel (`casesync_` and the schema name's md5) as it commits, compaction says
/// "everything", and this instance listens on one connection of its pool. (Notifications are the
/// database's, not the schema's: the schema in the name keeps deployments that share a database apart.)
///
/// Knowing is not enough to answer "nothing new": a change another instance committed just before the
/// request arrived may not have been heard yet. So an answer from memory first waits for a *barrier*:
/// this instance sends a notification of its own and waits to hear it back. PostgreSQL delivers
/// notifications in commit order, so by then every change committed before the request arrived has been
/// heard and its scope forgotten; what is still known is as fresh as a read of the database would have
/// been (PROTOCOL.md §13). Barriers are shared: every request that arrived before one was sent is served
/// by it, so sixty-four devices asking at once cost the database one notification, not sixty-four queries.
///
/// While the connection is down (or before it listens), nothing is known and every pull asks the database.
final class ScopeWatch: Sendable {
    /// The channel's name, as SQL: the same in every statement of every instance on one schema, and
    /// short enough for any schema's name (PostgreSQL refuses channel names of 64 bytes or more).
    static let channel = "'casesync_' || md5(current_schema())"
    /// Scopes known at most; past it the memory starts over.
    static let capacity = 200_000
    /// How long a barrier may take to be heard back (from when the first request needed it) before the
    /// listening connection is presumed lost: it is then closed and another opened, and the requests
    /// waiting ask the database.
    static let barrierTimeout: Duration = .seconds(1)

    private struct Waiter {
        let needed: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var listening = false
        /// Set when the store stops: nothing is known or waited for from then on.
        var closed = false
        /// Counts the times listening began; a late barrier only ends the listening it was sent under.
        var generation: UInt64 = 0
        /// Ends the current listening (its connection is closed), so that the listener begins again.
        var endListening: (@Sendable () -> Void)?
        var known: [String: PullPageBuilder.ScopeFacts] = [:]
        /// Reads of the database in flight, by scope: a change heard meanwhile cancels the read's right to be remembered.
        var reads: [String: UInt64] = [:]
        var nextRead: UInt64 = 0
        /// The last barrier whose sending has begun, and the last heard back.
        var sent: UInt64 = 0
        var heard: UInt64 = 0
        /// The last barrier with a clock running on it.
        var timed: UInt64 = 0
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        /// The sender task now sending (a stuck one is left behind when its listening ends).
        var sender: UInt64?
        var nextSender: UInt64 = 0
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
    static let lostListening = Counter(label: "casesync_listen_lost_total")

    // MARK: Knowing

    /// Whether notifications are heard (and so scopes can be known).
    var isListening: Bool { state.withLock { $0.listening } }

    /// Whether the store has stopped.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Whether a barrier was heard back since listening last began.
    var hasHeardBarrier: Bool { state.withLock { $0.barrierHeard } }

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
            // A read that failed leaves its mark: bounded, like what is known.
            if state.reads.count >= Self.capacity { state.reads.removeAll(keepingCapacity: true) }
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
    /// `b INSTANCE N` (an instance's barrier N), or `d CLIENT…` (these devices stopped working: the
    /// store's sessions hear it, `revokedClients`).
    func heard(_ payload: String) {
        let words = payload.split(separator: " ")
        switch words.first {
        case "d":
            break
        case "s":
            state.withLock { state in
                for scope in words.dropFirst() {
                    state.known[String(scope)] = nil
                    state.reads[String(scope)] = nil
                }
            }
        case "b" where words.count == 3 && words[1] == instance:
            guard let number = UInt64(words[2]) else { return }
            let released = state.withLock { state in
                state.heard = max(state.heard, number)
                state.barrierHeard = true
                return Self.takeWaiters(&state) { $0.needed <= number }
            }
            for continuation in released { continuation.resume(returning: true) }
        case "b":
            break
        default:
            forget()
        }
    }

    /// Listening begins (LISTEN has taken effect): from nothing, as whatever changed before was not
    /// heard. `end` ends it, when a barrier sent under it is not heard back.
    func beginListening(end: @escaping @Sendable () -> Void) {
        let released = state.withLock { state in
            state.generation += 1
            state.listening = !state.closed
            state.endListening = end
            state.barrierHeard = false
            return Self.forgetAll(&state)
        }
        for continuation in released { continuation.resume(returning: false) }
    }

    /// Listening has ended (or is presumed lost): nothing is known until it begins again.
    func endListening() {
        let released = state.withLock { state in
            state.listening = false
            state.endListening = nil
            state.sender = nil
            return Self.forgetAll(&state)
        }
        for continuation in released { continuation.resume(returning: false) }
    }

    /// Forgets every scope (and ends every wait for a barrier, unanswered).
    func forget() {
        let released = state.withLock { Self.forgetAll(&$0) }
        for continuation in released { continuation.resume(returning: false) }
    }

    /// The store stops: nothing is known from now on, and nobody waits.
    func close() {
        state.withLock { $0.closed = true }
        endListening()
    }

    private static func forgetAll(_ state: inout State) -> [CheckedContinuation<Bool, Never>] {
        state.known.removeAll()
        state.reads.removeAll()
        return takeWaiters(&state) { _ in true }
    }

    private static func takeWaiters(_ state: inout State, where chosen: (Waiter) -> Bool) -> [CheckedContinuation<Bool, Never>] {
        let taken = state.waiters.filter { chosen($0.value) }
        for key in taken.keys { state.waiters[key] = nil }
        return taken.values.map(\.continuation)
    }

    /// The scopes a payload says changed: none for a barrier or revoked devices, nil for "anything may
    /// have changed" (`*`, or a payload this instance does not know).
    static func changedScopes(_ payload: String) -> [String]? {
        let words = payload.split(separator: " ")
        switch words.first {
        case "s": return words.dropFirst().map(String.init)
        case "b", "d": return []
        default: return nil
        }
    }

    /// The payload that names devices that stopped working (`d *`, "perhaps any", when they would not
    /// fit one notification's 8,000 bytes).
    static func revokedPayload(_ clientIds: [String]) -> String {
        let listed = "d " + clientIds.joined(separator: " ")
        return listed.utf8.count > 7_900 ? "d *" : listed
    }

    /// The devices a `d` payload names; nil for "perhaps any" (and for any other payload, empty).
    static func revokedClients(_ payload: String) -> Set<String>? {
        let words = payload.split(separator: " ")
        guard words.first == "d" else { return [] }
        if words.count == 2, words[1] == "*" { return nil }
        return Set(words.dropFirst().map(String.init))
    }

    // MARK: Barriers

    /// Waits until a barrier sent after this call has been heard back: true then; false when the
    /// instance is not listening, or the barrier is not heard within `barrierTimeout`.
    func barrier(send: @escaping @Sendable (_ payload: String) async throws -> Void, logger: Logger) async -> Bool {
        await withCheckedContinuation { continuation in
            let (sender, clock) = state.withLock { state -> (UInt64?, (number: UInt64, generation: UInt64)?) in
                guard state.listening else {
                    continuation.resume(returning: false)
                    return (nil, nil)
                }
                // A barrier whose sending began before now might have been committed before a change
                // this request must see: only a later one will do.
                let needed = state.sent + 1
                state.nextWaiter += 1
                state.waiters[state.nextWaiter] = Waiter(needed: needed, continuation: continuation)
                var clock: (UInt64, UInt64)?
                if state.timed < needed {
                    state.timed = needed
                    clock = (needed, state.generation)
                }
                guard state.sender == nil else { return (nil, clock) }
                state.nextSender += 1
                state.sender = state.nextSender
                return (state.nextSender, clock)
            }
            if let clock {
                // Every wait ends by this clock at the latest, whatever the sending and the listening do.
                Task { [weak self] in
                    try? await Task.sleep(for: Self.barrierTimeout)
                    self?.expire(clock.number, generation: clock.generation, logger: logger)
                }
            }
            if let sender {
                Task { await self.sendBarriers(sender, send, logger: logger) }
            }
        }
    }

    /// Sends barriers one after another, without waiting to hear each back, while some waiter needs one
    /// that has not been sent.
    private func sendBarriers(_ sender: UInt64, _ send: @Sendable (String) async throws -> Void, logger: Logger) async {
        while true {
            let number = state.withLock { state -> UInt64? in
                guard state.sender == sender else { return nil }
                guard state.listening, state.waiters.values.contains(where: { $0.needed > state.sent }) else {
                    state.sender = nil
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
                forget()
            }
        }
    }

    /// The clock of barrier `number` has run out: if it was not heard, its waiters ask the database,
    /// and the listening it was sent under is presumed lost.
    private func expire(_ number: UInt64, generation: UInt64, logger: Logger) {
        let (released, end) = state.withLock { state -> ([CheckedContinuation<Bool, Never>], (@Sendable () -> Void)?) in
            guard state.heard < number else { return ([], nil) }
            guard state.listening, state.generation == generation else {
                return (Self.takeWaiters(&state) { $0.needed <= number }, nil)
            }
            let end = state.endListening
            state.listening = false
            state.endListening = nil
            state.sender = nil
            return (Self.forgetAll(&state), end)
        }
        for continuation in released { continuation.resume(returning: false) }
        if let end {
            Self.lostListening.increment()
            logger.warning("a pull barrier was not heard back in time; listening again on another connection")
            end()
        }
    }
}

extension PostgresSyncStore {
    /// Listens for changes on one connection of the pool while the store runs; after the connection
    /// fails (or a barrier is not heard back), forgets everything and listens again.
    func listenForChanges() async {
        var pause: Duration = .milliseconds(100)
        while !Task.isCancelled {
            // One attempt runs in a task of its own, so that a barrier that is not heard back can end it.
            let handle = CancelHandle()
            let attempt = Task {
                try await client.withConnection { connection in
                    var channel = ""
                    for try await name in try await connection.query("SELECT \(unescaped: ScopeWatch.channel)", logger: logger)
                        .decode(String.self)
                    {
                        channel = name
                    }
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: channel) { notifications in
                            watch.beginListening(end: { handle.cancel() })
                            // Whatever changed while nobody listened was not heard: every waiting device asks again.
                            changes.changedEverything()
                            // Devices revoked while nobody listened were not heard of.
                            sessions.evictAll()
                            for try await notification in notifications {
                                await environment.hearing(notification.payload)
                                if let revoked = ScopeWatch.revokedClients(notification.payload) {
                                    if !revoked.isEmpty { sessions.evict(clientIds: revoked) }
                                } else {
                                    sessions.evictAll()
                                }
                                watch.heard(notification.payload)
                                // After the facts were forgotten: a woken device's pull reads fresh ones.
                                if let scopes = ScopeWatch.changedScopes(notification.payload) {
                                    if !scopes.isEmpty { changes.changed(scopes) }
                                } else {
                                    changes.changedEverything()
                                }
                            }
                        }
                    } onCancel: {
                        // A connection that stopped delivering is not given back to the pool for others.
                        let _: EventLoopFuture<Void> = connection.close()
                    }
                }
            }
            handle.set { attempt.cancel() }
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
            watch.endListening()
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

/// Cancels a task that may not be known yet: a cancellation asked for before it is known happens when it is.
final class CancelHandle: Sendable {
    private let state = Mutex<(cancel: (@Sendable () -> Void)?, asked: Bool)>((nil, false))

    func set(_ cancel: @escaping @Sendable () -> Void) {
        let asked = state.withLock { state in
            state.cancel = cancel
            return state.asked
        }
        if asked { cancel() }
    }

    func cancel() {
        let cancel = state.withLock { state in
            state.asked = true
            return state.cancel
        }
        cancel?()
    }
}
