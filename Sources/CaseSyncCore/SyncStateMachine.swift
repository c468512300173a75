import CaseSyncProtocol

/// The sync engine's decisions, apart from its I/O, in the manner of a connection state machine: the
/// engine tells a machine what happened (an event) and does what it answers (an action). Three
/// machines, one inside the other:
/// - `RequestRetry`: one request to the server — try again after a growing delay, or give up;
/// - `SyncStateMachine`: one sync — push the outbox batch by batch, then pull page by page; correct the
///   device's clock once when the server finds it ahead; pull the whole scope again, once, when the
///   server compacted past the cursor or the checksum disagrees; fail when even that does not agree;
/// - `WatchStateMachine`: staying in sync — sync, wait for news, sync again, and back off while the
///   server cannot be reached.
/// None of them reads a clock, a database or the network, so every path is tested without them.

/// What went wrong with a request, as the machines tell failures apart.
public enum SyncFailure: Sendable, Hashable {
    /// The server could not be reached.
    case unreachable
    /// The server answered but could not take the request just now (5xx, 429); it may say how long to wait.
    case unavailable(retryAfter: Duration?)
    /// The server refused a push: this device's clock runs ahead of the server's.
    case clockAhead
    /// The server compacted its history past this device's cursor (or was restored).
    case resyncRequired
    /// Anything else the server refused, or an answer that is not the protocol: no waiting mends it.
    case refused

    /// How the library's error is told apart (for the watch, which sees the sync's errors).
    public init(_ error: ClientError) {
        switch error.code {
        case .unreachable: self = .unreachable
        case .unavailable: self = .unavailable(retryAfter: nil)
        default: self = .refused
        }
    }

    /// How the transport's error is told apart.
    public init(_ error: SyncTransportError) {
        switch error {
        case .unreachable: self = .unreachable
        case .server(_, let body) where body.code == .clockAhead: self = .clockAhead
        case .server(_, let body) where body.code == .resyncRequired: self = .resyncRequired
        case .server(let status, let body) where status >= 500 || status == 429:
            self = .unavailable(retryAfter: body.details?["retryAfterSeconds"].flatMap(Int.init).map { .seconds($0) })
        case .server, .invalidResponse: self = .refused
        }
    }
}

/// One request: how many times it is tried and how long to wait between tries.
public struct RequestRetry: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// Try again after this long.
        case retry(after: Duration)
        /// Stop: the failure is for the caller to handle (or to report).
        case giveUp
    }

    public let policy: RetryPolicy
    /// The attempt just made (1 for the first).
    public private(set) var attempt = 1

    /// The longest a server's "retry after" hint is followed (it is a hint, from the other side).
    public static let longestHint: Duration = .seconds(120)

    public init(policy: RetryPolicy) { self.policy = policy }

    /// The attempt failed so: whether and when to try again.
    public mutating func failed(_ failure: SyncFailure) -> Action {
        let waitable: Bool
        var hint: Duration?
        switch failure {
        case .unreachable: waitable = true
        case .unavailable(let retryAfter):
            waitable = true
            hint = retryAfter.map { min($0, Self.longestHint) }
        case .clockAhead, .resyncRequired, .refused: waitable = false
        }
        guard waitable, attempt < policy.maxAttempts else { return .giveUp }
        attempt += 1
        return .retry(after: max(policy.delay(beforeAttempt: attempt), hint ?? .zero))
    }
}

/// One sync of a device: what to do after each step.
public struct SyncStateMachine: Sendable, Hashable {
    public enum Event: Sendable, Hashable {
        /// A push batch was answered and its outcomes kept; `outboxEmpty`: nothing is left to send.
        case pushed(outboxEmpty: Bool)
        /// A pulled page was applied with its cursor; `checksumAgrees`: the device's copy matches the
        /// server's checksum (true when the page carried none).
        case pageApplied(hasMore: Bool, checksumAgrees: Bool)
        /// The push or pull in flight failed, after its own retries (`RequestRetry`).
        case failed(SyncFailure)
        /// The clock correction asked for was made (false: the server's answer did not allow one).
        case clockCorrected(Bool)
    }

    public enum Action: Sendable, Hashable {
        /// Send the next batch of the outbox.
        case push
        /// Correct this device's clock by the server's refusal, then say `clockCorrected`.
        case correctClock
        /// Fetch the next page (from the cursor).
        case pull
        /// Start pulling the whole scope again (keeping what the device holds until it is done), then pull.
        case beginRepair
        /// The sync is done.
        case finish
        /// The sync failed: report this.
        case fail(Reason)
    }

    public enum Reason: Sendable, Hashable {
        /// The failure the step ended with, as the transport reported it.
        case failure(SyncFailure)
        /// The clock is ahead again after being corrected, or could not be corrected.
        case clockStillAhead
        /// The copy disagrees with the server after a full re-pull.
        case stillDisagrees
    }

    private enum Phase: Sendable, Hashable { case pushing, pulling, done }

    private var phase: Phase
    private var clockCorrected = false
    /// A re-pull of the whole scope is under way (begun by this sync, or one cut off before).
    public private(set) var repairing: Bool
    /// This sync pulled (or went on pulling) the whole scope.
    public private(set) var repaired: Bool

    /// A sync of a device on which a re-pull is under way or not; with `sending`, it begins by pushing
    /// the outbox (before anything is pulled), otherwise it only pulls.
    public init(repairing: Bool, sending: Bool = true) {
        self.repairing = repairing
        self.repaired = repairing
        self.phase = sending ? .pushing : .pulling
    }

    /// The first step.
    public var start: Action { phase == .pushing ? .push : .pull }

    /// Whether a page whose checksum disagrees begins a re-pull in the transaction that applies it
    /// (it does, unless one is under way: then the disagreement is final).
    public var repairsOnMismatch: Bool { !repairing }

    public mutating func handle(_ event: Event) -> Action {
        switch (phase, event) {
        case (.pushing, .pushed(let outboxEmpty)):
            if outboxEmpty { phase = .pulling }
            return outboxEmpty ? .pull : .push
        case (.pushing, .failed(.clockAhead)):
            guard !clockCorrected else { return fail(.clockStillAhead) }
            clockCorrected = true
            return .correctClock
        case (.pushing, .clockCorrected(let made)):
            return made ? .push : fail(.clockStillAhead)
        case (.pulling, .pageApplied(let hasMore, let agrees)):
            guard agrees else {
                // The page's transaction began the re-pull already (`repairsOnMismatch`).
                guard !repairing else { return fail(.stillDisagrees) }
                repairing = true
                repaired = true
                return .pull
            }
            if !hasMore {
                phase = .done
                return .finish
            }
            return .pull
        case (.pulling, .failed(.resyncRequired)) where !repairing:
            repairing = true
            repaired = true
            return .beginRepair
        case (_, .failed(let failure)):
            return fail(.failure(failure))
        default:
            preconditionFailure("the sync engine reported \(event) while \(phase)")
        }
    }

    private mutating func fail(_ reason: Reason) -> Action {
        phase = .done
        return .fail(reason)
    }
}

/// Staying in sync (`CaseSyncClient.watch`): what to do after each sync and wait.
public struct WatchStateMachine: Sendable, Hashable {
    public enum Event: Sendable, Hashable {
        /// A sync finished.
        case synced
        /// The wait answered: the scope changed past the cursor, or not; `pending`: edits were made meanwhile.
        case waited(changed: Bool, pending: Bool)
        /// A sync or a wait failed, after its own retries.
        case failed(SyncFailure)
        /// The delay asked for is over.
        case slept
    }

    public enum Action: Sendable, Hashable {
        case sync
        /// Hold a wait open at the server.
        case wait
        /// Wait this long (give or take `spread` of it, at random, so that devices cut off together do
        /// not all come back at once), then say `slept`.
        case sleep(Duration, spread: Double)
        /// Stop watching, reporting this failure: no waiting mends it.
        case stop(SyncFailure)
    }

    public let backoff: RetryPolicy
    /// Failures in a row since the last success.
    public private(set) var failures = 0

    public init(backoff: RetryPolicy) { self.backoff = backoff }

    /// The first step: sync.
    public var start: Action { .sync }

    public mutating func handle(_ event: Event) -> Action {
        switch event {
        case .synced:
            failures = 0
            return .wait
        case .waited(let changed, let pending):
            failures = 0
            return changed || pending ? .sync : .wait
        case .failed(.unreachable), .failed(.unavailable):
            failures += 1
            return .sleep(backoff.delay(beforeAttempt: failures + 1), spread: 0.2)
        case .failed(let failure):
            return .stop(failure)
        case .slept:
            return .sync
        }
    }
}
