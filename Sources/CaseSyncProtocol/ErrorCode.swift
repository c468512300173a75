/// A stable, machine-readable error code. The same strings appear in HTTP error bodies,
/// in rejected mutation outcomes and in the CLI's messages.
public struct ErrorCode: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    // MARK: Request errors (HTTP 4xx/5xx)
    public static let malformedJSON = ErrorCode("malformed_json")
    public static let invalidRequest = ErrorCode("invalid_request")
    public static let protocolVersionRequired = ErrorCode("protocol_version_required")
    public static let unsupportedProtocolVersion = ErrorCode("unsupported_protocol_version")
    public static let unauthorized = ErrorCode("unauthorized")
    public static let invalidLoginCode = ErrorCode("invalid_login_code")
    /// The device's token no longer works: it logged out, was revoked, or its account was disabled
    /// (`details.reason`: `logout`, `revoked`, `account_disabled`). Log in again with a new code.
    public static let deviceRevoked = ErrorCode("device_revoked")
    /// The device's token went unused longer than the server's `sessionIdleDays`. Log in again with a new code.
    public static let sessionExpired = ErrorCode("session_expired")
    public static let notFound = ErrorCode("not_found")
    public static let methodNotAllowed = ErrorCode("method_not_allowed")
    /// A request body in a coding other than gzip (or none).
    public static let unsupportedEncoding = ErrorCode("unsupported_encoding")
    public static let payloadTooLarge = ErrorCode("payload_too_large")
    public static let batchTooLarge = ErrorCode("batch_too_large")
    public static let mutationGap = ErrorCode("mutation_gap")
    public static let mutationIdReused = ErrorCode("mutation_id_reused")
    public static let clientMismatch = ErrorCode("client_mismatch")
    public static let invalidCursor = ErrorCode("invalid_cursor")
    public static let resyncRequired = ErrorCode("resync_required")
    /// A clock reading too far ahead of the server's clock; `details.serverTime` says what time it is.
    public static let clockAhead = ErrorCode("clock_ahead")
    /// Too many requests from this device (sync) or address (login codes); the `Retry-After` header
    /// and `details.retryAfterSeconds` say when to try again.
    public static let rateLimited = ErrorCode("rate_limited")
    /// A request's body did not arrive within `requestTimeoutSeconds`.
    public static let requestTimeout = ErrorCode("request_timeout")
    public static let internalError = ErrorCode("internal_error")
    /// The instance cannot use its database just now (`/health` says so, for load balancers).
    public static let unavailable = ErrorCode("unavailable")

    // MARK: Mutation rejections (outcome `rejected`)
    public static let caseNotFound = ErrorCode("case_not_found")
    public static let caseExists = ErrorCode("case_exists")
    public static let unknownField = ErrorCode("unknown_field")
    public static let invalidValue = ErrorCode("invalid_value")
    public static let officerOwnedField = ErrorCode("officer_owned_field")
    public static let citizenOwnedField = ErrorCode("citizen_owned_field")
    public static let fieldLocked = ErrorCode("field_locked")
    public static let invalidTransition = ErrorCode("invalid_transition")
    public static let forbiddenForRole = ErrorCode("forbidden_for_role")
    public static let conflictNotFound = ErrorCode("conflict_not_found")
    public static let messageExists = ErrorCode("message_exists")
    /// A new case names an authority the server's register does not hold; the message names the
    /// closest ones.
    public static let unknownAuthority = ErrorCode("unknown_authority")
    /// The citizen's cases hold `maxAccountBytes` already; the change would add more.
    public static let storageFull = ErrorCode("storage_full")
    /// An `attach` names a blob this account has not uploaded whole (upload it first, `PUT /uploads/{sha256}`).
    public static let blobMissing = ErrorCode("blob_missing")
    /// A file larger than `maxAttachmentBytes`, or one that would take its case past `maxCaseAttachmentBytes`.
    public static let attachmentTooLarge = ErrorCode("attachment_too_large")
    /// A file whose content is not of a type in `attachmentTypes`.
    public static let attachmentTypeNotAllowed = ErrorCode("attachment_type_not_allowed")
    /// An upload's bytes do not match the SHA-256 it was sent under; nothing of it is kept.
    public static let blobHashMismatch = ErrorCode("blob_hash_mismatch")
    /// An upload continued from another offset than the bytes the server holds (`details.received`).
    public static let uploadOffsetMismatch = ErrorCode("upload_offset_mismatch")
    /// A download asked for bytes past the file's end (`details.size`).
    public static let rangeNotSatisfiable = ErrorCode("range_not_satisfiable")

    // MARK: Client-side codes (never sent by a server)
    /// A mutation of a case whose creation the server refused.
    public static let dependsOnRejected = ErrorCode("depends_on_rejected")
}

/// The body of every error response: `{"error": {"code": …, "message": …, "details": …}}`.
public struct ErrorEnvelope: Codable, Sendable, Hashable {
    public struct Body: Codable, Sendable, Hashable {
        public var code: ErrorCode
        public var message: String
        public var details: [String: String]?
        public init(code: ErrorCode, message: String, details: [String: String]? = nil) {
            self.code = code
            self.message = message
            self.details = details
        }
    }

    public var error: Body
    public init(code: ErrorCode, message: String, details: [String: String]? = nil) {
        self.error = Body(code: code, message: message, details: details)
    }
}
