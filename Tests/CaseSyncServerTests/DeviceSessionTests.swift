import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
@testable import CaseSyncServerPostgres
import CaseSyncServerApp
import CaseSyncServerSQLite
import CaseSyncTesting
import Foundation
import Hummingbird
import NIOCore
import Testing

/// Devices that stop working: listed, revoked, logged out, expired, their account disabled — refused
/// at once by every instance, whatever an instance remembers of them.
@Suite("Devices and sessions")
struct DeviceSessionTests {
    /// Expects a call to fail with the server's `code` (and, for a stopped device, `reason`).
    static func expectRefusal<T>(
        _ status: Int, _ code: ErrorCode, reason: String? = nil, _ label: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> T
    ) async {
        do {
            _ = try await body()
            Issue.record("\(label): it worked", sourceLocation: sourceLocation)
        } catch {
            guard case .server(let answered, let envelope)? = error as? SyncTransportError else {
                Issue.record("\(label): \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(answered == status, "\(label)", sourceLocation: sourceLocation)
            #expect(envelope.code == code, "\(label)", sourceLocation: sourceLocation)
            if let reason { #expect(envelope.details?["reason"] == reason, "\(label)", sourceLocation: sourceLocation) }
        }
    }

    static func push(_ number: Int64, by device: RedeemResponse, on transport: any SyncTransport) async throws(SyncTransportError) -> PushResponse {
        try await transport.push(
            PushRequest(stamping: device.clientId, mutations: [.create(number, caseId: testId("case\(number)", by: device.clientId))]),
            token: device.token)
    }

    @Test(arguments: StoreBackend.underTest)
    func aDeviceShutOutOrLoggedOutIsRefusedAtOnceOverHTTP(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let laptop = try await server.device(.citizen, name: "Anna")
        let phone = try await server.device(of: laptop.account.id)
        let bram = try await server.device(.citizen, name: "Bram")
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            // The phone works, and the server remembers it.
            #expect(try await Self.push(1, by: phone, on: http).outcomes.map(\.status) == [.applied])
            _ = try await http.pull(cursor: nil, limit: nil, token: phone.token)

            let list = try await http.devices(token: laptop.token)
            #expect(Set(list.devices.map(\.clientId)) == [laptop.clientId, phone.clientId])
            #expect(list.devices.filter(\.current).map(\.clientId) == [laptop.clientId])
            #expect(list.devices.allSatisfy { $0.isActive && $0.name == "test" })

            // Another account's device, and ids that are not ids, are not found alike.
            await Self.expectRefusal(404, .notFound, "another account's device") {
                try await http.revokeDevice(clientId: bram.clientId, token: laptop.token)
            }
            for forged in ["../devices", "x' OR '1'='1", String(repeating: "a", count: 65), "ABC"] {
                await Self.expectRefusal(404, .notFound, "id \(forged)") { try await http.revokeDevice(clientId: forged, token: laptop.token) }
            }
            #expect(try await http.pull(cursor: nil, limit: nil, token: bram.token).changes.isEmpty)

            let revoked = try await http.revokeDevice(clientId: phone.clientId, token: laptop.token)
            #expect(revoked.revokedReason == "revoked" && !revoked.current && revoked.revokedAt != nil)
            // At once, for everything the phone asks.
            await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "pull") { try await http.pull(cursor: nil, limit: nil, token: phone.token) }
            await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "push") { try await Self.push(2, by: phone, on: http) }
            await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "devices") { try await http.devices(token: phone.token) }
            await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "revoke the laptop") {
                try await http.revokeDevice(clientId: laptop.clientId, token: phone.token)
            }
            // The laptop still works, and sees the phone stopped.
            let after = try await http.devices(token: laptop.token)
            #expect(after.devices.map(\.clientId) == [laptop.clientId, phone.clientId], "working devices first")
            #expect(after.devices.last?.revokedReason == "revoked")
            #expect(try await http.pull(cursor: nil, limit: nil, token: laptop.token).changes.count == 2)

            // The laptop logs out: its token stops too.
            let out = try await http.logout(token: laptop.token)
            #expect(out.current && out.revokedReason == "logout")
            await Self.expectRefusal(401, .deviceRevoked, reason: "logout", "pull after logout") {
                try await http.pull(cursor: nil, limit: nil, token: laptop.token)
            }
            await Self.expectRefusal(401, .deviceRevoked, reason: "logout", "logout twice") { try await http.logout(token: laptop.token) }
            // The phone's one case stays on the server.
            let tablet = try await server.device(of: laptop.account.id)
            #expect(try await http.pull(cursor: nil, limit: nil, token: tablet.token).changes.count == 2)
        }
    }

    /// An operator's command runs in a process of its own: the serving store remembers the device,
    /// and must still refuse it (SQLite on a file, two stores on it).
    @Test func aDeviceRevokedByAnotherProcessIsRefusedThoughTheServerRemembersIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-revoke-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ServerConfiguration(dataDirectory: directory)
        let serving = try Backend.openSQLite(configuration, logger: quietLogger)
        try await serving.addAuthorities(starterAuthorities)
        let service = SyncService(store: serving, limits: .init())
        let transport = InProcessTransport(service: service)
        let invitation = try await serving.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 1)
        let phone = try await serving.redeem(RedeemRequest(code: invitation.code, deviceName: "phone"))
        _ = try await transport.pull(cursor: nil, limit: nil, token: phone.token)
        #expect(try await Self.push(1, by: phone, on: transport).outcomes.map(\.status) == [.applied])

        let stopped = try await Backend.withStore(configuration, logger: quietLogger) { operatorStore in
            try await operatorStore.revokeDevice(clientId: phone.clientId, by: nil, reason: .revoked)
        }
        #expect(stopped.revokedReason == "revoked")
        #expect(try await serving.session(token: phone.token) != nil, "the serving store still remembers the device")
        await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "pull") { try await transport.pull(cursor: "0", limit: nil, token: phone.token) }
        await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "push") { try await Self.push(2, by: phone, on: transport) }
    }

    @Test(.enabled(if: StoreBackend.underTest.contains(.postgres)))
    func aRevocationOnOneInstanceStopsTheDeviceOnTheOtherAtOnceThoughItHearsLate() async throws {
        // The second instance hears of every change 60 ms after PostgreSQL tells it.
        let instances = try await ConcurrentInstancesTests.Instances(waitMillis: 0...0, hearingMillis: [0, 60])
        let watch = ScopeWatchTests.watch(instances, 1)
        try await ScopeWatchTests.listening(watch)
        let phone = try await instances.device(.citizen, name: "Anna")
        let tablet = try await instances.services[0].store.redeem(
            RedeemRequest(code: try await instances.services[0].store.inviteDevice(accountId: phone.account.id, validFor: 1).code, deviceName: "tablet"))
        try await ScopeWatchTests.file(1, by: phone, on: instances.transport(0))
        var pulled = ConcurrentInstancesTests.Pulled()
        try await pulled.pull(instances.transport(1), token: phone.token)
        // Up to date: the second instance answers the phone from memory.
        let before = watch.answeredFromMemoryCount
        for _ in 0..<3 { #expect(try await pulled.pull(instances.transport(1), token: phone.token) == 0) }
        #expect(watch.answeredFromMemoryCount >= before + 2)

        _ = try await instances.services[0].store.revokeDevice(clientId: phone.clientId, by: nil, reason: .revoked)
        // At once on the other instance: an up-to-date device (which it would answer from memory) ...
        await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "pull from memory") {
            try await instances.transport(1).pull(cursor: pulled.cursor, limit: 50, token: phone.token)
        }
        await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "push") { try await Self.push(2, by: phone, on: instances.transport(1)) }
        // ... and a device behind, whose page the database reads.
        _ = try await instances.transport(1).pull(cursor: nil, limit: 50, token: tablet.token)
        _ = try await instances.services[0].store.revokeDevice(clientId: tablet.clientId, by: nil, reason: .revoked)
        await Self.expectRefusal(401, .deviceRevoked, reason: "revoked", "page from the database") {
            try await instances.transport(1).pull(cursor: nil, limit: 50, token: tablet.token)
        }
    }

    /// Two devices shutting each other out at once: the second, stopped by the first, stops nothing —
    /// the asking device is read again in the revocation's own transaction.
    @Test(arguments: StoreBackend.underTest)
    func aDeviceShutOutAMomentAgoCannotShutOutAnother(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let laptop = try await server.device(.citizen, name: "Anna")
        let phone = try await server.device(of: laptop.account.id)
        // Both have passed authentication ...
        let (laptopSession, phoneSession) = (Session(clientId: laptop.clientId, account: laptop.account), Session(clientId: phone.clientId, account: phone.account))
        // ... the laptop's revocation commits first.
        _ = try await server.store.revokeDevice(clientId: phone.clientId, by: laptopSession, reason: .revoked)
        await #expect { try await server.store.revokeDevice(clientId: laptop.clientId, by: phoneSession, reason: .revoked) } throws: {
            ($0 as? ServiceError)?.code == .deviceRevoked
        }
        _ = try await server.transport.pull(cursor: nil, limit: nil, token: laptop.token)
        let devices = try await server.store.devices(accountId: laptop.account.id)
        #expect(devices.map(\.isActive) == [true, false])
    }

    @Test(arguments: StoreBackend.underTest)
    func aDeviceUnusedLongerThanTheIdleTimeMustLogInAgain(backend: StoreBackend) async throws {
        let day: Int64 = 86_400_000
        let server = try await TestServer(backend, limits: ProtocolLimits(sessionIdleDays: 1), determinism: Determinism(stepMillis: 0))
        let phone = try await server.device(.citizen, name: "Anna")
        let laptop = try await server.device(of: phone.account.id)
        let transport = server.transport
        // Used every 0.6 days, it keeps working (each use is written down) ...
        for _ in 0..<3 {
            server.determinism.advance(millis: day * 6 / 10)
            _ = try await transport.pull(cursor: nil, limit: nil, token: phone.token)
            _ = try await transport.pull(cursor: nil, limit: nil, token: phone.token)
        }
        let seen = try #require(try await server.store.devices(accountId: phone.account.id).first { $0.clientId == phone.clientId })
        #expect(seen.lastSeenAt == server.determinism.now())
        // ... the laptop, unused for 1.8 days, does not; nor does the phone after 1.1 days.
        await Self.expectRefusal(401, .sessionExpired, "laptop") { try await transport.pull(cursor: nil, limit: nil, token: laptop.token) }
        server.determinism.advance(millis: day * 11 / 10)
        await Self.expectRefusal(401, .sessionExpired, "phone") { try await Self.push(1, by: phone, on: transport) }
        await Self.expectRefusal(401, .sessionExpired, "and it stays stopped") {
            try await transport.pull(cursor: nil, limit: nil, token: phone.token)
        }
        let devices = try await server.store.devices(accountId: phone.account.id)
        #expect(devices.map(\.revokedReason) == ["expired", "expired"])
        // An idle time too long to count never ends (and does not trap).
        let standing = DeviceStanding(session: Session(clientId: "c", account: phone.account), lastSeenAt: Timestamp(millisecondsSince1970: 0), revokedAt: nil, revokedReason: nil)
        #expect(SessionRules.judge(standing, now: Timestamp(millisecondsSince1970: .max), limits: ProtocolLimits(sessionIdleDays: .max)) == .validNoteUse)
    }

    @Test(arguments: StoreBackend.underTest)
    func aDisabledAccountsDevicesAndCodesStopUntilItIsEnabledAndLogsInAnew(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let phone = try await server.device(.citizen, name: "Anna")
        let unused = try await server.store.inviteDevice(accountId: phone.account.id, validFor: 1)
        let bram = try await server.device(.citizen, name: "Bram")
        let transport = server.transport
        _ = try await transport.pull(cursor: nil, limit: nil, token: phone.token)

        #expect(try await server.store.setAccountDisabled(accountId: phone.account.id, disabled: true) == 1)
        #expect(try await server.store.setAccountDisabled(accountId: phone.account.id, disabled: true) == 0, "disabled already")
        await Self.expectRefusal(401, .deviceRevoked, reason: "account_disabled", "pull") {
            try await transport.pull(cursor: nil, limit: nil, token: phone.token)
        }
        await Self.expectRefusal(401, .invalidLoginCode, "a code made before") {
            try await transport.redeem(RedeemRequest(code: unused.code, deviceName: "tablet"))
        }
        await #expect(throws: ServiceError.self) { try await server.store.inviteDevice(accountId: phone.account.id, validFor: 1) }
        _ = try await transport.pull(cursor: nil, limit: nil, token: bram.token)

        #expect(try await server.store.setAccountDisabled(accountId: phone.account.id, disabled: false) == 0)
        await Self.expectRefusal(401, .invalidLoginCode, "a code made before, once enabled again") {
            try await transport.redeem(RedeemRequest(code: unused.code, deviceName: "tablet"))
        }
        let again = try await server.device(of: phone.account.id)
        _ = try await transport.pull(cursor: nil, limit: nil, token: again.token)
        await Self.expectRefusal(401, .deviceRevoked, reason: "account_disabled", "the old device stays stopped") {
            try await transport.pull(cursor: nil, limit: nil, token: phone.token)
        }
        await #expect(throws: ServiceError.self) { try await server.store.setAccountDisabled(accountId: "no-such-account", disabled: true) }
    }

    /// The library: a device shut out keeps what it holds (its unsent edits too) and says so; it logs in
    /// anew only when told to drop them; logging out forgets everything.
    @Test func aSignedOutDeviceKeepsItsCasesAndLogsInAnewOnlyWhenToldToDropItsEdits() async throws {
        let server = try TestServer()
        let transport = server.transport
        let phone = try await server.client(.citizen, name: "Anna", transport: transport)
        let account = try #require(try phone.account())
        let laptop = try await server.device(of: account.account.id)
        let fields: [CaseField: String] = [
            .title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02",
        ]
        let filed = try phone.createObjection(authorityId: "gm0344", fields: fields, submit: true)
        try await phone.sync(transport: transport)
        _ = try phone.createObjection(authorityId: "gm0344", fields: fields.merging([.title: "Second"]) { $1 }, submit: true)

        let unsent = try phone.status().pending
        #expect(unsent > 0)
        // Shutting itself out would strand them: refused unless told.
        await #expect { try await phone.revokeDevice(clientId: account.clientId, transport: transport) } throws: {
            ($0 as? ClientError)?.code == .unsentEdits
        }
        _ = try await transport.revokeDevice(clientId: account.clientId, token: laptop.token)
        await #expect { try await phone.sync(transport: transport) } throws: { ($0 as? ClientError)?.code == .signedOut }
        #expect(try phone.status().signedOut == "revoked")
        #expect(try phone.status().pending == unsent)
        #expect(try phone.detail(caseId: filed).local.field(.title) == "Parking fine", "its cases stay readable")

        let code = try await server.store.inviteDevice(accountId: account.account.id, validFor: 1).code
        await #expect { try await phone.login(serverURL: "http://test", code: code, deviceName: "phone", transport: transport) } throws: {
            ($0 as? ClientError)?.code == .unsentEdits
        }
        #expect(try phone.status().pending == unsent, "nothing was dropped")
        let again = try await phone.login(serverURL: "http://test", code: code, deviceName: "phone", transport: transport, discardPending: true)
        #expect(again.clientId != account.clientId && again.signedOut == nil)
        try await phone.sync(transport: transport)
        #expect(try phone.status().pending == 0)
        #expect(try phone.detail(caseId: filed).local.field(.title) == "Parking fine")

        try await phone.logout(transport: transport)
        #expect(try phone.account() == nil)
        #expect(try phone.serverCopy().isEmpty)
        let stopped = try await transport.devices(token: laptop.token).devices.first { $0.clientId == again.clientId }
        #expect(stopped?.revokedReason == "logout")
    }

    @Test func theServersDataAndTheDevicesTokenAreReadableByTheirOwnerOnly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-modes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ServerConfiguration(dataDirectory: directory + "/server")
        _ = try Backend.openSQLite(configuration, logger: quietLogger)
        let client = try LocalDatabase(path: directory + "/casesync.sqlite")
        _ = client
        func mode(_ path: String) throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        #expect(try mode(directory + "/server") == 0o700)
        // Every file 0600 and every folder 0700, the folders of attachments' files too.
        let entries = try #require(FileManager.default.enumerator(atPath: directory + "/server")?.allObjects as? [String])
        #expect(entries.contains("files/blobs") && entries.contains("files/uploads"))
        for entry in entries {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: directory + "/server/" + entry, isDirectory: &isDirectory)
            #expect(try mode(directory + "/server/" + entry) == (isDirectory.boolValue ? 0o700 : 0o600), "\(entry)")
        }
        #expect(try mode(directory + "/casesync.sqlite") == 0o600)
    }

    @Test func theClientSendsTokensInTheClearOnlyToThisMachine() {
        for (url, insecure) in [
            ("http://127.0.0.1:8080", false), ("http://localhost:8080", false), ("http://[::1]:8080", false), ("http://127.1.2.3", false),
            ("https://casesync.example.org", false), ("http://casesync.example.org", true), ("http://10.0.0.5:8080", true),
            ("http://127.0.0.1.example.org", true), ("http://localhost.example.org", true),
        ] {
            #expect(HTTPTransport.isInsecure(URL(string: url)!) == insecure, "\(url)")
        }
    }
}

/// The server serves HTTPS itself when given a certificate and key.
@Suite("HTTPS")
struct ServerTLSTests {
    /// Runs a command; its standard output and exit status. It is awaited, never waited for on a thread:
    /// a blocked thread of the pool is one the in-process server under test cannot answer on (with two
    /// cores, two such waits stalled every test until curl gave up).
    static func run(_ executable: String, _ arguments: [String]) async throws -> (output: String, status: Int32) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-run-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return (String(decoding: try Data(contentsOf: output), as: UTF8.self), process.terminationStatus)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")))
    func theServerServesHTTPSWithTheGivenCertificateAndNothingInTheClear() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = (directory + "/cert.pem", directory + "/key.pem")
        let made = try await Self.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
        ])
        try #require(made.status == 0)
        let server = try TestServer()
        let device = try await server.device(.citizen, name: "Anna")
        try await server.live(tls: .init(certificateChain: certificate, privateKey: key)) { url in
            #expect(url.scheme == "https")
            let discovery = try await Self.run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", certificate, url.absoluteString + "/.well-known/casesync"])
            #expect(discovery.status == 0 && discovery.output.contains("\"protocolVersions\""))
            let pull = try await Self.run("/usr/bin/curl", [
                "-sS", "--max-time", "10", "--cacert", certificate, "-H", "CaseSync-Protocol-Version: 1",
                "-H", "Authorization: Bearer \(device.token)", url.absoluteString + "/sync/pull",
            ])
            #expect(pull.status == 0 && pull.output.contains("\"cursor\""))
            // Plain HTTP on the same port gets no answer.
            let plain = try await Self.run("/usr/bin/curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(url.port!)/.well-known/casesync"])
            #expect(plain.status != 0 && !plain.output.contains("protocolVersions"))
        }
        // A key that is not one is named.
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: directory + "/bad.pem"))
        #expect { try ServerTLS.configuration(.init(certificateChain: certificate, privateKey: directory + "/bad.pem")) } throws: {
            ($0 as? ServiceError)?.message.contains("bad.pem") == true
        }
    }
}

/// The client follows no redirect: an answer cannot send its token elsewhere, or from https to http.
@Suite("Redirects")
struct RedirectTests {
    @Test func theClientDoesNotFollowARedirect() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/.well-known/casesync") { _, _ in
            Response(status: .temporaryRedirect, headers: [.location: "/elsewhere"])
        }
        router.get("/elsewhere") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"server":"elsewhere","protocolVersions":[1],"limits":{}}"#)))
        }
        try await serveLocally(router) { url in
            let http = HTTPTransport(baseURL: url)
            await #expect { try await http.discover() } throws: { error in
                guard case .invalidResponse(let reason)? = error as? SyncTransportError else { return false }
                return reason.contains("307")
            }
        }
    }
}
