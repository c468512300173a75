import CaseSyncProtocol
import CaseSyncServer
import Synchronization

/// How often each fault strikes a request while faults are on.
struct FaultRates: Sendable {
    var dropRequest = 0.08
    var dropResponse = 0.08
    var duplicate = 0.06
    var delay = 0.06
    var deliverDelayed = 0.25
    var crashClient = 0.03
    static let none = FaultRates(dropRequest: 0, dropResponse: 0, duplicate: 0, delay: 0, deliverDelayed: 0, crashClient: 0)
}

/// One device's network: drops requests, drops responses after the server committed, delivers
/// pushes twice, holds some back and delivers them later (out of order), and can kill the device in
/// the middle of a sync. Also records the token and client id the device logged in with.
final class FaultyTransport: SyncTransport {
    let server: SimServer
    let source: SimSource
    private struct State {
        var rates = FaultRates.none
        var online = true
        var crashed = false
        var delayed: [(PushRequest, String)] = []
        var credentials: RedeemResponse?
        var faultsStruck = 0
    }
    private let state = Mutex(State())

    init(server: SimServer, source: SimSource) {
        self.server = server
        self.source = source
    }

    var credentials: RedeemResponse? { state.withLock { $0.credentials } }
    var isOnline: Bool { state.withLock { $0.online } }
    var faultsStruck: Int { state.withLock { $0.faultsStruck } }
    func set(online: Bool) { state.withLock { $0.online = online } }
    func set(rates: FaultRates) { state.withLock { $0.rates = rates } }
    /// True once a simulated crash struck; the device must be restarted (and this reset).
    func takeCrash() -> Bool { state.withLock { let crashed = $0.crashed; $0.crashed = false; return crashed } }

    private func gate() throws(SyncTransportError) -> InProcessTransport {
        let (online, crashed, rates) = state.withLock { ($0.online, $0.crashed, $0.rates) }
        guard online else { throw .unreachable("offline") }
        guard !crashed else { throw .unreachable("the device stopped") }
        guard let transport = server.transport else { throw .unreachable("server down") }
        if source.chance(rates.dropRequest) {
            state.withLock { $0.faultsStruck += 1 }
            throw .unreachable("request lost")
        }
        return transport
    }

    /// After the server answered: the answer may be lost, or the device may die before reading it.
    private func deliver<T>(_ answer: T) throws(SyncTransportError) -> T {
        let rates = state.withLock { $0.rates }
        if source.chance(rates.crashClient) {
            state.withLock { $0.crashed = true; $0.faultsStruck += 1 }
            throw .unreachable("the device stopped")
        }
        if source.chance(rates.dropResponse) {
            state.withLock { $0.faultsStruck += 1 }
            throw .unreachable("response lost")
        }
        return answer
    }

    /// Delivers a push that was held back earlier; its answer goes nowhere.
    private func deliverDelayed() async {
        let rates = state.withLock { $0.rates }
        guard source.chance(rates.deliverDelayed), let transport = server.transport else { return }
        let held = state.withLock { $0.delayed.isEmpty ? nil : $0.delayed.removeFirst() }
        guard let (request, token) = held else { return }
        _ = try? await transport.push(request, token: token)
    }

    func discover() async throws(SyncTransportError) -> DiscoveryResponse {
        try await gate().discover()
    }

    func redeem(_ request: RedeemRequest) async throws(SyncTransportError) -> RedeemResponse {
        guard let transport = server.transport else { throw .unreachable("server down") }
        let response = try await transport.redeem(request)
        state.withLock { $0.credentials = response }
        return response
    }

    func push(_ request: PushRequest, token: String) async throws(SyncTransportError) -> PushResponse {
        await deliverDelayed()
        let transport = try gate()
        let rates = state.withLock { $0.rates }
        if source.chance(rates.delay) { state.withLock { $0.delayed.append((request, token)) } }
        if source.chance(rates.duplicate) {
            state.withLock { $0.faultsStruck += 1 }
            _ = try? await transport.push(request, token: token)
        }
        return try deliver(try await transport.push(request, token: token))
    }

    func authorities(ifNoneMatch version: String?) async throws(SyncTransportError) -> AuthorityRegister? {
        try deliver(try await gate().authorities(ifNoneMatch: version))
    }

    func pull(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> PullResponse {
        await deliverDelayed()
        return try deliver(try await gate().pull(cursor: cursor, limit: limit, token: token))
    }

    func devices(token: String) async throws(SyncTransportError) -> DeviceList {
        try deliver(try await gate().devices(token: token))
    }

    func revokeDevice(clientId: String, token: String) async throws(SyncTransportError) -> DeviceInfo {
        try deliver(try await gate().revokeDevice(clientId: clientId, token: token))
    }

    func logout(token: String) async throws(SyncTransportError) -> DeviceInfo {
        try deliver(try await gate().logout(token: token))
    }

    func exportAccount(token: String) async throws(SyncTransportError) -> AccountExport {
        try deliver(try await gate().exportAccount(token: token))
    }

    func wait(cursor: String?, seconds: Int, token: String) async throws(SyncTransportError) -> WaitResponse {
        try deliver(try await gate().wait(cursor: cursor, seconds: seconds, token: token))
    }

    func uploadState(sha256: String, token: String) async throws(SyncTransportError) -> UploadState? {
        try deliver(try await gate().uploadState(sha256: sha256, token: token))
    }

    func upload(sha256: String, size: Int64, offset: Int64, bytes: [UInt8], token: String) async throws(SyncTransportError) -> UploadState {
        try deliver(try await gate().upload(sha256: sha256, size: size, offset: offset, bytes: bytes, token: token))
    }

    func download(caseId: String, sha256: String, range: Range<Int64>, token: String) async throws(SyncTransportError) -> [UInt8] {
        try deliver(try await gate().download(caseId: caseId, sha256: sha256, range: range, token: token))
    }
}
