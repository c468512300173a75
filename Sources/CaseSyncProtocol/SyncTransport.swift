/// How a client reaches a sync server. The HTTP implementation lives in `CaseSyncCore`; the server
/// offers an in-process one for tests and simulation.
public protocol SyncTransport: Sendable {
    /// `GET /.well-known/casesync`.
    func discover() async throws(SyncTransportError) -> DiscoveryResponse
    /// `POST /auth/redeem`.
    func redeem(_ request: RedeemRequest) async throws(SyncTransportError) -> RedeemResponse
    /// `POST /sync/push`.
    func push(_ request: PushRequest, token: String) async throws(SyncTransportError) -> PushResponse
    /// `GET /sync/pull`.
    func pull(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> PullResponse
    /// `GET /sync/pull`, each record's JSON left undecoded (what a client stores).
    func pullPage(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> RawPullResponse
    /// `GET /authorities`: the register, or nil when it is still the one of `version`.
    func authorities(ifNoneMatch version: String?) async throws(SyncTransportError) -> AuthorityRegister?
    /// `GET /devices`: the account's devices.
    func devices(token: String) async throws(SyncTransportError) -> DeviceList
    /// `DELETE /devices/{clientId}`: stops one of the account's devices.
    func revokeDevice(clientId: String, token: String) async throws(SyncTransportError) -> DeviceInfo
    /// `POST /auth/logout`: stops this device's token.
    func logout(token: String) async throws(SyncTransportError) -> DeviceInfo
    /// `GET /account/export`: everything the server holds about the account.
    func exportAccount(token: String) async throws(SyncTransportError) -> AccountExport
    /// `GET /sync/wait`: whether the device's scope changed past `cursor`, answered as soon as it does,
    /// or after `seconds` when it does not.
    func wait(cursor: String?, seconds: Int, token: String) async throws(SyncTransportError) -> WaitResponse
    /// `GET /uploads/{sha256}`: where this account's upload of the file stands; nil when there is none.
    func uploadState(sha256: String, token: String) async throws(SyncTransportError) -> UploadState?
    /// `PUT /uploads/{sha256}?size=&offset=`: sends `bytes` of the file (of `size` bytes) from `offset`.
    func upload(sha256: String, size: Int64, offset: Int64, bytes: [UInt8], token: String) async throws(SyncTransportError)
        -> UploadState
    /// `GET /cases/{caseId}/blobs/{sha256}` with `Range`: the file's bytes in `range`.
    func download(caseId: String, sha256: String, range: Range<Int64>, token: String) async throws(SyncTransportError) -> [UInt8]
}

extension SyncTransport {
    public func pullPage(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> RawPullResponse {
        RawPullResponse(try await pull(cursor: cursor, limit: limit, token: token))
    }
}

extension SyncTransportError {
    /// The answer of `call`, or nil when the server answered `404` (a thing that is not there).
    public static func absentIfNotFound<T>(_ call: () async throws(SyncTransportError) -> T) async throws(SyncTransportError) -> T? {
        do {
            return try await call()
        } catch .server(let status, _) where status == 404 {
            return nil
        } catch {
            throw error
        }
    }
}

/// Why a transport call failed: the server answered with a protocol error, or it could not be reached
/// (worth retrying later).
public enum SyncTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an error envelope.
    case server(status: Int, error: ErrorEnvelope.Body)
    /// No answer: no network, connection refused, timed out, or an answer that was cut off.
    case unreachable(String)
    /// The server answered with something that is not the protocol.
    case invalidResponse(String)

    /// True when trying again later may succeed.
    public var isRetryable: Bool {
        switch self {
        case .unreachable: true
        case .server(let status, _): status >= 500 || status == 429
        case .invalidResponse: false
        }
    }

    public var description: String {
        switch self {
        case .server(let status, let error): "server answered \(status) \(error.code): \(error.message)"
        case .unreachable(let reason): "server unreachable: \(reason)"
        case .invalidResponse(let reason): "server answered with an unexpected response: \(reason)"
        }
    }
}
