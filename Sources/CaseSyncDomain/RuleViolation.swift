import CaseSyncProtocol

/// Why a domain rule refuses a change: a stable code (the protocol's) and a message for people.
/// Messages never contain personal data, only field names, statuses and limits.
public struct RuleViolation: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
