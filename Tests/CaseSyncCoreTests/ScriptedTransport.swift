import CaseSyncProtocol
import Foundation
import Synchronization

/// A transport whose answers a test scripts, to drive the sync engine through failures the real
/// server cannot be made to produce on demand (lost connections, a wrong checksum).
final class ScriptedTransport: SyncTransport, Sendable {
    struct Log: Sendable {
        var pushes: [PushRequest] = []
        var pulls: [String?] = []
        var revoked: [String] = []
        var waits: [String?] = []
    }

    let account = AccountInfo(id: "anna", role: .citizen, authorityId: nil, displayName: "Anna")
    private let pushAnswers: Mutex<[Result<PushResponse, SyncTransportError>]>
    private let pullAnswers: Mutex<[Result<PullResponse, SyncTransportError>]>
    private let waitAnswers: Mutex<[Result<WaitResponse, SyncTransportError>]>
    /// Pull pages given as the bytes a server sent, answered before `pull`'s (to replay a vector).
    private let rawPages: Mutex<[Data]>
    let log = Mutex(Log())

    init(
        push: [Result<PushResponse, SyncTransportError>] = [], pull: [Result<PullResponse, SyncTransportError>] = [],
        wait: [Result<WaitResponse, SyncTransportError>] = [], rawPages: [Data] = []
    ) {
        self.rawPages = Mutex(rawPages)
        pushAnswers = Mutex(push)
        pullAnswers = Mutex(pull)
        waitAnswers = Mutex(wait)
    }

    /// Scripted answers first; then no news.
    func wait(cursor: String?, seconds: Int, token: String) async throws(SyncTransportError) -> WaitResponse {
        log.withLock { $0.waits.append(cursor) }
        let answer = waitAnswers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        return try answer?.get() ?? WaitResponse(changed: false)
    }

    func discover() async throws(SyncTransportError) -> DiscoveryResponse {
        DiscoveryResponse(server: "scripted", protocolVersions: [1], limits: ProtocolLimits())
    }

    func redeem(_ request: RedeemRequest) async throws(SyncTransportError) -> RedeemResponse {
        RedeemResponse(token: "cst_test", clientId: "client-1", account: account)
    }

    func push(_ request: PushRequest, token: String) async throws(SyncTransportError) -> PushResponse {
        log.withLock { $0.pushes.append(request) }
        let answer = pushAnswers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        guard let answer else {
            // By default every mutation applies.
            return PushResponse(
                outcomes: request.mutations.map { MutationOutcome(mutationId: $0.mutationId, status: .applied, version: 1) },
                lastMutationId: request.mutations.last?.mutationId ?? 0)
        }
        return try answer.get()
    }

    /// The register a test's server keeps: Utrecht and Zwolle.
    static let register = AuthorityRegister(version: "r1", authorities: [
        Authority(id: "gm0344", name: "Gemeente Utrecht", postalAddress: ["Postbus 16200", "3500 CE Utrecht"],
                  taxOfficial: "De heffingsambtenaar van de gemeente Utrecht"),
        Authority(id: "gm0193", name: "Gemeente Zwolle", postalAddress: ["Postbus 10007", "8000 GA Zwolle"]),
    ])

    func authorities(ifNoneMatch version: String?) async throws(SyncTransportError) -> AuthorityRegister? {
        version == Self.register.version ? nil : Self.register
    }

    /// This device, as the server lists it.
    let device = DeviceInfo(
        clientId: "client-1", name: "test", createdAt: Timestamp(millisecondsSince1970: 0),
        lastSeenAt: Timestamp(millisecondsSince1970: 0), current: true)

    func devices(token: String) async throws(SyncTransportError) -> DeviceList { DeviceList(devices: [device]) }

    func revokeDevice(clientId: String, token: String) async throws(SyncTransportError) -> DeviceInfo {
        log.withLock { $0.revoked.append(clientId) }
        var revoked = device
        revoked.clientId = clientId
        revoked.revokedAt = Timestamp(millisecondsSince1970: 1)
        revoked.revokedReason = clientId == device.clientId ? RevocationReason.logout.rawValue : RevocationReason.revoked.rawValue
        return revoked
    }

    func exportAccount(token: String) async throws(SyncTransportError) -> AccountExport {
        AccountExport(
            exportedAt: Timestamp(millisecondsSince1970: 0), server: "scripted", account: account, devices: [device], records: [],
            activity: [])
    }

    func logout(token: String) async throws(SyncTransportError) -> DeviceInfo {
        try await revokeDevice(clientId: device.clientId, token: token)
    }

    func pull(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> PullResponse {
        log.withLock { $0.pulls.append(cursor) }
        let answer = pullAnswers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        guard let answer else {
            return PullResponse(changes: [], cursor: cursor ?? "0", hasMore: false, checksum: nil)
        }
        return try answer.get()
    }

    func pullPage(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> RawPullResponse {
        guard let page = rawPages.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else {
            return RawPullResponse(try await pull(cursor: cursor, limit: limit, token: token))
        }
        log.withLock { $0.pulls.append(cursor) }
        do {
            return try RawPullResponse(json: page)
        } catch {
            throw .invalidResponse(WireCoding.describe(error))
        }
    }

    /// Files as a server would hold them: uploads by hash, each whole once all its bytes came.
    let files = Mutex<[String: [UInt8]]>([:])

    func uploadState(sha256: String, token: String) async throws(SyncTransportError) -> UploadState? {
        files.withLock { $0[sha256] }.map { UploadState(sha256: sha256, size: Int64($0.count), received: Int64($0.count), complete: true) }
    }

    func upload(sha256: String, size: Int64, offset: Int64, bytes: [UInt8], token: String) async throws(SyncTransportError) -> UploadState {
        files.withLock { $0[sha256, default: []] += bytes }
        let held = Int64(files.withLock { $0[sha256]?.count ?? 0 })
        return UploadState(sha256: sha256, size: size, received: held, complete: held == size)
    }

    func download(caseId: String, sha256: String, range: Range<Int64>, token: String) async throws(SyncTransportError) -> [UInt8] {
        guard let file = files.withLock({ $0[sha256] }), range.upperBound <= file.count else {
            throw .server(status: 404, error: .init(code: .notFound, message: "no such file"))
        }
        return Array(file[Int(range.lowerBound)..<Int(range.upperBound)])
    }
}
