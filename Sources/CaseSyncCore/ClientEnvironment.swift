import CaseSyncProtocol
import Foundation

/// The client's sources of time, identity and waiting, injected so tests and simulations replay exactly.
public struct ClientEnvironment: Sendable {
    public var now: @Sendable () -> Timestamp
    public var makeId: @Sendable () -> String
    /// Waits between retries.
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        now: @escaping @Sendable () -> Timestamp, makeId: @escaping @Sendable () -> String,
        sleep: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.now = now
        self.makeId = makeId
        self.sleep = sleep
    }

    public static let live = ClientEnvironment(
        now: { Timestamp(millisecondsSince1970: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) },
        makeId: { UUID().uuidString.lowercased() },
        sleep: { try await Task.sleep(for: $0) })
}

/// How often and how patiently the sync engine retries a request that found no server.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var initialDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 4, initialDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(4)) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// The wait before attempt `attempt` (2, 3, …): doubling from the initial delay, capped.
    public func delay(beforeAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        for _ in 2..<max(attempt, 2) { delay = min(delay * 2, maxDelay) }
        return min(delay, maxDelay)
    }
}
