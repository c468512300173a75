import CaseSyncProtocol
import HTTPTypes
import Hummingbird

/// An error the server answers with: a stable protocol code, a message for people (never personal
/// data) and optional details. Its HTTP status follows from the code.
public struct ServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var details: [String: String]?

    public init(_ code: ErrorCode, _ message: String, details: [String: String]? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code): \(message)" }

    /// The HTTP status that goes with the code.
    public var status: HTTPResponse.Status {
        switch code {
        case .malformedJSON, .invalidRequest, .protocolVersionRequired, .unsupportedProtocolVersion, .invalidCursor,
             .batchTooLarge, .clockAhead, .unknownAuthority:
            .badRequest
        case .unauthorized, .invalidLoginCode, .deviceRevoked, .sessionExpired: .unauthorized
        case .clientMismatch: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .mutationGap, .mutationIdReused: .conflict
        case .resyncRequired: .gone
        case .payloadTooLarge, .attachmentTooLarge: .contentTooLarge
        case .attachmentTypeNotAllowed: .unsupportedMediaType
        case .blobHashMismatch: .unprocessableContent
        case .uploadOffsetMismatch: .conflict
        case .rangeNotSatisfiable: .rangeNotSatisfiable
        case .unsupportedEncoding: .unsupportedMediaType
        case .requestTimeout: .requestTimeout
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        default: .internalServerError
        }
    }

    public var envelope: ErrorEnvelope { ErrorEnvelope(code: code, message: message, details: details) }
}

extension ServiceError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try WireCoding.encoder().encode(envelope)
        var headers: HTTPFields = [.contentType: "application/json"]
        if let seconds = details?["retryAfterSeconds"] { headers[.retryAfter] = seconds }
        if code == .methodNotAllowed, let allowed = details?["allow"] { headers[.allow] = allowed }
        // A request whose body never finished leaves the connection in an unknown state.
        if code == .requestTimeout { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
