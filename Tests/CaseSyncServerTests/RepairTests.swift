import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import Foundation
@testable import CaseSyncCore
import GRDB
import Synchronization
import Testing

/// A device's copy stays readable while it is pulled again in full, however the re-pull is cut off; and
/// two syncs of one device never run at once, in one process or two.
@Suite("Re-pulls and overlapping syncs")
struct RepairTests {
    @Test func aRepullCutOffKeepsTheCasesReadableAndTheNextSyncFinishesIt() async throws {
        let server = try TestServer()
        let network = GatedTransport(server.transport)
        let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let anna = CaseSyncClient(database: try LocalDatabase.inMemory(), environment: server.determinism.client, pullPageSize: 2)
        try await anna.login(serverURL: "http://test", code: invitation.code, deviceName: "Anna", transport: network)
        for title in ["First", "Second", "Third"] {
            _ = try anna.createObjection(
                authorityId: "gm0344",
                fields: [.title: title, .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"], submit: true)
        }
        try await anna.sync(transport: network)
        let cases = Set(try anna.cases().map(\.id))
        #expect(cases.count == 3)
        // The copy goes wrong (a record the server no longer has, a checksum that no longer fits).
        try await anna.database.writer.write { db in
            try db.execute(sql: "INSERT INTO records (id, type, case_id, version, seq, body) SELECT 'stray', type, case_id, version, seq, body FROM records WHERE type = 'event' LIMIT 1")
            try db.execute(sql: "UPDATE account SET digest_sum = digest_sum + 1")
        }
        // The next sync finds out and pulls everything again, but the train enters a tunnel after one page.
        network.allowPulls(2)
        await #expect(throws: ClientError.self) { try await anna.sync(transport: network) }
        #expect(Set(try anna.cases().map(\.id)) == cases, "every case stays readable")
        // The next sync goes on with the re-pull, finishes it and drops what the server no longer has.
        network.allowPulls(nil)
        #expect(try await anna.sync(transport: network).repaired)
        #expect(Set(try anna.cases().map(\.id)) == cases)
        #expect(try await anna.database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM records WHERE id = 'stray'") } == 0)
        #expect(try await anna.sync(transport: network).repaired == false, "the copy agrees with the server again")
    }

    @Test func aSecondSyncOfTheDeviceWaitsForTheFirstInThisProcessOrAnother() async throws {
        let server = try TestServer()
        let network = GatedTransport(server.transport)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-lock-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("casesync.sqlite").path
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let first = CaseSyncClient(database: try LocalDatabase(path: path), environment: server.determinism.client)
        try await first.login(serverURL: "http://test", code: invitation.code, deviceName: "Anna", transport: network)
        // The same file opened again, as a second process would.
        let other = CaseSyncClient(database: try LocalDatabase(path: path), environment: server.determinism.client)
        for second in [first, other] {
            network.hold()
            let running = Task { try await first.sync(transport: network) }
            try await network.waitForPulls(1)
            let waiting = Task { try await second.sync(transport: network) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(network.pulls == 1, "the second sync has not begun")
            network.release()
            _ = try await running.value
            _ = try await waiting.value
            #expect(network.pulls == 2)
            network.resetPulls()
        }
    }
}

extension RepairTests {
    /// Three screens ask for a sync while one runs: the two that come late share the next run.
    @Test func syncCallsThatOverlapShareTheNextRun() async throws {
        let server = try TestServer()
        let network = GatedTransport(server.transport)
        let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
        let anna = CaseSyncClient(database: try LocalDatabase.inMemory(), environment: server.determinism.client)
        try await anna.login(serverURL: "http://test", code: invitation.code, deviceName: "Anna", transport: network)
        network.hold()
        let first = Task { try await anna.sync(transport: network) }
        try await network.waitForPulls(1)
        _ = try anna.createObjection(
            authorityId: "gm0344",
            fields: [.title: "Late", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"], submit: true)
        let second = Task { try await anna.sync(transport: network) }
        let third = Task { try await anna.sync(transport: network) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(network.pulls == 1, "the late calls wait for the running sync")
        network.release()
        #expect(try await first.value.pushed == 0)
        let (late, later) = try await (second.value, third.value)
        #expect(late == later && late.pushed == 2, "one run sent the edit made before both calls")
        #expect(network.pulls == 2, "three calls, two runs")
    }
}

/// The in-process transport with a network that can be held (pulls wait until released), cut (pulls
/// fail once a number of them went through), or lose the answers of pushes that reached the server.
final class GatedTransport: SyncTransport {
    let base: any SyncTransport
    private struct State {
        /// File transfers (uploads and downloads of pieces) that may still go through (nil: all).
        var filePieces: Int?
        var uploadOffsets: [Int64] = []
        var downloadStarts: [Int64] = []
        var pulls = 0
        var allowed: Int?
        var held = false
        var dropping = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    init(_ base: any SyncTransport) { self.base = base }

    /// From now on, file transfers fail once `count` more pieces went through (nil: never).
    func allowFilePieces(_ count: Int?) { state.withLock { $0.filePieces = count } }
    var uploadOffsets: [Int64] { state.withLock { $0.uploadOffsets } }
    var downloadStarts: [Int64] { state.withLock { $0.downloadStarts } }

    private func filePiece() throws(SyncTransportError) {
        let allowed = state.withLock { state -> Bool in
            guard let left = state.filePieces else { return true }
            state.filePieces = left - 1
            return left > 0
        }
        if !allowed { throw .unreachable("the train went into a tunnel") }
    }

    var pulls: Int { state.withLock { $0.pulls } }
    func resetPulls() { state.withLock { $0.pulls = 0 } }
    /// From now on, pulls fail once `count` more went through (nil: never).
    func allowPulls(_ count: Int?) { state.withLock { $0.allowed = count } }
    func hold() { state.withLock { $0.held = true } }
    /// While on, pushes reach the server but their answers are lost.
    func dropAnswers(_ on: Bool) { state.withLock { $0.dropping = on } }
    func release() {
        let waiting = state.withLock { state in
            state.held = false
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Waits (at most five seconds) until `count` pulls have begun.
    func waitForPulls(_ count: Int) async throws {
        for _ in 0..<500 where pulls < count { try await Task.sleep(for: .milliseconds(10)) }
        #expect(pulls >= count)
    }

    private func gate() async throws(SyncTransportError) {
        let (allowed, held) = state.withLock { state -> (Bool, Bool) in
            state.pulls += 1
            if let allowed = state.allowed {
                guard allowed > 0 else { return (false, false) }
                state.allowed = allowed - 1
            }
            return (true, state.held)
        }
        guard allowed else { throw .unreachable("no signal") }
        if held {
            await withCheckedContinuation { continuation in
                let still = state.withLock { state in
                    if state.held { state.waiting.append(continuation) }
                    return state.held
                }
                if !still { continuation.resume() }
            }
        }
    }

    func discover() async throws(SyncTransportError) -> DiscoveryResponse { try await base.discover() }
    func authorities(ifNoneMatch version: String?) async throws(SyncTransportError) -> AuthorityRegister? {
        try await base.authorities(ifNoneMatch: version)
    }
    func redeem(_ request: RedeemRequest) async throws(SyncTransportError) -> RedeemResponse { try await base.redeem(request) }
    func pull(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> PullResponse {
        try await gate()
        return try await base.pull(cursor: cursor, limit: limit, token: token)
    }
    func pullPage(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> RawPullResponse {
        try await gate()
        return try await base.pullPage(cursor: cursor, limit: limit, token: token)
    }
    func devices(token: String) async throws(SyncTransportError) -> DeviceList { try await base.devices(token: token) }
    func revokeDevice(clientId: String, token: String) async throws(SyncTransportError) -> DeviceInfo {
        try await base.revokeDevice(clientId: clientId, token: token)
    }
    func logout(token: String) async throws(SyncTransportError) -> DeviceInfo { try await base.logout(token: token) }
    func exportAccount(token: String) async throws(SyncTransportError) -> AccountExport { try await base.exportAccount(token: token) }
    func wait(cursor: String?, seconds: Int, token: String) async throws(SyncTransportError) -> WaitResponse {
        try await base.wait(cursor: cursor, seconds: seconds, token: token)
    }
    func uploadState(sha256: String, token: String) async throws(SyncTransportError) -> UploadState? {
        try await base.uploadState(sha256: sha256, token: token)
    }
    func upload(sha256: String, size: Int64, offset: Int64, bytes: [UInt8], token: String) async throws(SyncTransportError) -> UploadState {
        try filePiece()
        state.withLock { $0.uploadOffsets.append(offset) }
        return try await base.upload(sha256: sha256, size: size, offset: offset, bytes: bytes, token: token)
    }
    func download(caseId: String, sha256: String, range: Range<Int64>, token: String) async throws(SyncTransportError) -> [UInt8] {
        try filePiece()
        state.withLock { $0.downloadStarts.append(range.lowerBound) }
        return try await base.download(caseId: caseId, sha256: sha256, range: range, token: token)
    }
    func push(_ request: PushRequest, token: String) async throws(SyncTransportError) -> PushResponse {
        let response = try await base.push(request, token: token)
        if state.withLock({ $0.dropping }) { throw .unreachable("the answer was lost") }
        return response
    }
}
