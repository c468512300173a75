import CaseSyncProtocol
import Foundation

/// The server's sources of time, identity and randomness, injected so that tests and simulations
/// replay exactly.
public struct ServerEnvironment: Sendable {
    public var now: @Sendable () -> Timestamp
    public var makeId: @Sendable () -> String
    public var randomBytes: @Sendable (Int) -> [UInt8]

    public init(
        now: @escaping @Sendable () -> Timestamp, makeId: @escaping @Sendable () -> String,
        randomBytes: @escaping @Sendable (Int) -> [UInt8]
    ) {
        self.now = now
        self.makeId = makeId
        self.randomBytes = randomBytes
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
