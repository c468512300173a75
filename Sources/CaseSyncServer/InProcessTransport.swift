import CaseSyncProtocol
import NIOCore

/// A transport that calls a `SyncService` in the same process: the server's real logic and store,
/// without HTTP. For fast tests and simulations.
public struct InProcessTransport: SyncTransport {
    public let service: SyncService
    /// Whether a push goes through the strict reader as its JSON bytes (as over HTTP), or is handed
    /// over as it is (the benchmark's floor: no JSON either way).
    public let readsPushJSON: Bool

    /// The server's clock (an export's time).
    public let now: @Sendable () -> Timestamp

    public init(service: SyncService, readsPushJSON: Bool = true, now: @escaping @Sendable () -> Timestamp = ServerEnvironment.live.now) {
        self.service = service
        self.now = now
        self.readsPushJSON = readsPushJSON
    }

    public func discover() async throws(SyncTransportError) -> DiscoveryResponse { service.discovery }

    public func uploadState(sha256: String, token: String) async throws(SyncTransportError) -> UploadState? {
        try await SyncTransportError.absentIfNotFound { () async throws(SyncTransportError) -> UploadState in
            try await call { try await service.uploadState(sha256: sha256, session: try await service.authenticate(token: token)) }
        }
    }

    public func upload(sha256: String, size: Int64, offset: Int64, bytes: [UInt8], token: String) async throws(SyncTransportError)
        -> UploadState
    {
        try await call {
            try await service.upload(
                sha256: sha256, size: size, offset: offset, body: WholeBody(buffer: ByteBuffer(bytes: bytes)),
                session: try await service.authenticate(token: token))
        }
    }

    public func download(caseId: String, sha256: String, range: Range<Int64>, token: String) async throws(SyncTransportError) -> [UInt8] {
        try await call {
            let download = try await service.download(
                caseId: caseId, sha256: sha256, from: range.lowerBound, through: range.upperBound - 1,
                session: try await service.authenticate(token: token))
            var bytes: [UInt8] = []
            for try await piece in download.bytes { bytes += piece.readableBytesView }
            return bytes
        }
    }

    public func redeem(_ request: RedeemRequest) async throws(SyncTransportError) -> RedeemResponse {
        try await call { try await service.redeem(request) }
    }

    /// Sends the request as its bytes through the same strict reader the HTTP route uses (unless
    /// `readsPushJSON` is off).
    public func push(_ request: PushRequest, token: String) async throws(SyncTransportError) -> PushResponse {
        guard readsPushJSON else {
            return try await call { try await service.push(request, session: try await service.authenticate(token: token)) }
        }
        return try await push(json: request.jsonBytes, token: token)
    }

    /// A push of raw bytes, as a hand-crafted request would arrive.
    public func push(json bytes: [UInt8], token: String) async throws(SyncTransportError) -> PushResponse {
        try await call {
            let session = try await service.authenticate(token: token)
            let request = try SyncService.parse(bytes) { try PushRequest(json: $0) }
            return try await service.push(request, session: session)
        }
    }

    public func pull(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> PullResponse {
        try await call {
            try await service.pull(cursor: cursor, limit: limit, session: try await service.authenticate(token: token)).decoded()
        }
    }

    public func pullPage(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> RawPullResponse {
        try await call {
            try await service.pull(cursor: cursor, limit: limit, session: try await service.authenticate(token: token))
        }
    }

    public func authorities(ifNoneMatch version: String?) async throws(SyncTransportError) -> AuthorityRegister? {
        try await call {
            let register = try await service.store.authorityRegister()
            return register.version == version ? nil : register
        }
    }

    public func devices(token: String) async throws(SyncTransportError) -> DeviceList {
        try await call { try await service.devices(session: try await service.authenticate(token: token, fresh: true)) }
    }

    public func revokeDevice(clientId: String, token: String) async throws(SyncTransportError) -> DeviceInfo {
        try await call {
            try await service.revokeDevice(clientId: clientId, session: try await service.authenticate(token: token, fresh: true))
        }
    }

    public func logout(token: String) async throws(SyncTransportError) -> DeviceInfo {
        try await call { try await service.logout(session: try await service.authenticate(token: token, fresh: true)) }
    }

    public func exportAccount(token: String) async throws(SyncTransportError) -> AccountExport {
        try await call {
            try await service.exportAccount(session: try await service.authenticate(token: token, fresh: true), now: now())
        }
    }

    public func wait(cursor: String?, seconds: Int, token: String) async throws(SyncTransportError) -> WaitResponse {
        try await call { try await service.wait(cursor: cursor, seconds: seconds, session: try await service.authenticate(token: token)) }
    }

    private func call<T>(_ body: () async throws -> T) async throws(SyncTransportError) -> T {
        do {
            return try await body()
        } catch let error as ServiceError {
            throw .server(status: Int(error.status.code), error: error.envelope.error)
        } catch {
            throw .server(status: 500, error: .init(code: .internalError, message: "the server failed"))
        }
    }
}

/// A body that arrived whole (an in-process upload).
public struct WholeBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let buffer: ByteBuffer

    public init(buffer: ByteBuffer) { self.buffer = buffer }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        public mutating func next() async -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
