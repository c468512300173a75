import CaseSyncDomain
import CaseSyncProtocol

/// An error of the client library: a stable code, what it is about (`subject`), and a neutral message
/// in English that names no front's commands; each front maps code and subject to its own words and
/// next steps (the command line to its "run: casesync …" hints, an app to its screens).
public struct ClientError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let notLoggedIn = Code(rawValue: "not_logged_in")
        public static let alreadyLoggedIn = Code(rawValue: "already_logged_in")
        public static let notFound = Code(rawValue: "not_found")
        public static let ambiguous = Code(rawValue: "ambiguous")
        public static let invalidInput = Code(rawValue: "invalid_input")
        /// A domain rule refuses the change (the rule's own code is in `ruleCode`).
        public static let refused = Code(rawValue: "refused")
        public static let server = Code(rawValue: "server")
        public static let unreachable = Code(rawValue: "unreachable")
        /// The server answered, but could not take the request just now (5xx, or busy after every retry).
        public static let unavailable = Code(rawValue: "unavailable")
        public static let integrity = Code(rawValue: "integrity")
        /// The server no longer accepts this device (`reason`: logout, revoked, expired, account_disabled).
        public static let signedOut = Code(rawValue: "signed_out")
        /// This device's own files cannot be used (permissions, a full disk).
        public static let storage = Code(rawValue: "storage")
        /// Leaving would drop edits this device never sent.
        public static let unsentEdits = Code(rawValue: "unsent_edits")
    }

    /// What an error is about, where the code alone does not say what to do next.
    public enum Subject: String, Sendable, Hashable {
        /// A case this device does not show (or an id prefix that names none, or several).
        case caseRecord = "case"
        /// A conflict this device does not hold open.
        case conflict
        /// An authority the device's register does not hold (it may be newer than the register).
        case authority
        /// A file on a case (a name or id that names none).
        case attachment
        /// The sender's postal address, which letters need.
        case senderAddress = "sender_address"
        /// The objection has not reached the authority's server yet (it has to be synced first).
        case notYetReceived = "not_yet_received"
        /// The day a letter is said to have been received.
        case receiptDate = "receipt_date"
        /// The day a penalty is counted to.
        case penaltyDate = "penalty_date"
    }

    public var code: Code
    public var message: String
    public var subject: Subject?
    /// The protocol code behind the error, when there is one (a rule's or the server's).
    public var ruleCode: ErrorCode?
    /// For `signedOut`: why (a `RevocationReason`'s value).
    public var reason: String?

    public init(_ code: Code, _ message: String, subject: Subject? = nil, ruleCode: ErrorCode? = nil, reason: String? = nil) {
        self.code = code
        self.message = message
        self.subject = subject
        self.ruleCode = ruleCode
        self.reason = reason
    }

    public var description: String { message }

    /// The device holds no account (never logged in, or logged out).
    public static let notLoggedIn = ClientError(.notLoggedIn, "this device is not logged in")

    static func refused(_ violation: RuleViolation) -> ClientError {
        ClientError(.refused, violation.message, ruleCode: violation.code)
    }

    static func from(_ error: SyncTransportError) -> ClientError {
        switch error {
        case .unreachable(let reason):
            ClientError(.unreachable, "cannot reach the server (\(reason)); your changes are kept and will sync later")
        case .server(let status, let body) where status >= 500 || status == 429:
            ClientError(
                .unavailable, "the server could not take this just now (\(body.message)); your changes are kept and will sync later",
                ruleCode: body.code)
        case .server(_, let body) where body.code == .sessionExpired:
            ClientError(
                .signedOut, "the server signed this device out: it went unused too long; log in again with a new login code",
                ruleCode: body.code, reason: RevocationReason.expired.rawValue)
        case .server(_, let body) where body.code == .deviceRevoked:
            ClientError(
                .signedOut, "the server signed this device out (\(body.message))", ruleCode: body.code,
                reason: body.details?["reason"] ?? RevocationReason.revoked.rawValue)
        case .server(_, let body):
            ClientError(.server, "the server refused: \(body.message)", ruleCode: body.code)
        case .invalidResponse(let reason):
            ClientError(.server, "the server's answer is not the CaseSync protocol (\(reason)); check the server URL")
        }
    }
}
