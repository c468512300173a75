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

extension RuleViolation {
    /// A new case names an authority the register does not hold: the closest ones it does, so the
    /// person can correct a slip before anything looks filed.
    public static func unknownAuthority(_ id: String, suggestions: [Authority]) -> RuleViolation {
        let hint =
            suggestions.isEmpty
            ? "; the register lists the authorities this server serves"
            : "; did you mean " + suggestions.map { "\($0.name) (\($0.id))" }.joined(separator: " or ") + "?"
        return RuleViolation(.unknownAuthority, "no authority \(id) is in the register\(hint)")
    }
}
