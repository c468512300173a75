import CaseSyncProtocol
import Foundation

/// The server's sources of time, identity and randomness, injected so that tests and simulations
/// replay exactly.
public struct ServerEnvironment: Sendable {
    public var now: @Sendable () -> Timestamp
    public var makeId: @Sendable () -> String
    public var randomBytes: @Sendable (Int) -> [UInt8]
    /// Called inside a push's transaction after each mutation is applied, with how many are applied so
    /// far. Throwing here aborts the transaction as a crash would: fault-injection tests use it to stop
    /// the server in the middle of a batch. Does nothing by default.
    public var midPush: @Sendable (_ appliedSoFar: Int) throws -> Void
    /// Called inside a push's transaction by a store whose pushes run side by side (PostgreSQL): once
    /// its reads are done and once its changes have their places, before it commits. Concurrency tests
    /// wait here a random while, so that commits would come out of order if anything allowed it. Does
    /// nothing by default.
    public var insidePush: @Sendable (_ stage: PushStage) async -> Void

    /// Called (PostgreSQL) before the instance takes in a notification of a change or of its own
    /// barrier, with its payload. Tests delay it, so that instances hear of each other's changes late.
    /// Does nothing by default.
    public var hearing: @Sendable (_ payload: String) async -> Void = { _ in }

    public enum PushStage: Sendable {
        case afterReads
        case beforeCommit
    }

    public init(
        now: @escaping @Sendable () -> Timestamp, makeId: @escaping @Sendable () -> String,
        randomBytes: @escaping @Sendable (Int) -> [UInt8],
        midPush: @escaping @Sendable (_ appliedSoFar: Int) throws -> Void = { _ in },
        insidePush: @escaping @Sendable (_ stage: PushStage) async -> Void = { _ in }
    ) {
        self.now = now
        self.makeId = makeId
        self.randomBytes = randomBytes
        self.midPush = midPush
        self.insidePush = insidePush
    }

    /// The real clock, random UUIDs and the system's secure random source.
    public static let live = ServerEnvironment(
        now: { Timestamp(millisecondsSince1970: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) },
        makeId: { UUID().uuidString.lowercased() },
        randomBytes: { count in
            var generator = SystemRandomNumberGenerator()
            return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        })
}
