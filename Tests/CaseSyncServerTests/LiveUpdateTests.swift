import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
@testable import CaseSyncServerPostgres
import CaseSyncTesting
import Foundation
import Testing

/// Live updates: a device waiting for news (`GET /sync/wait`) wakes as soon as its scope changes — and
/// only then — on the instance it waits on, whichever instance took the change; a notification that
/// never arrives delays the news, never loses it.
@Suite("Live updates")
struct LiveUpdateTests {
    static let fields: [CaseField: String] = [.title: "Parking fine", .grounds: "My permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02"]

    /// Waits (at most five seconds) until `count` devices wait on `changes`.
    static func waiting(_ count: Int, on changes: ScopeChanges) async throws {
        for _ in 0..<500 where changes.waiting < count { try await Task.sleep(for: .milliseconds(10)) }
        #expect(changes.waiting >= count)
    }

    @Test(arguments: StoreBackend.underTest)
    func aWaitingDeviceWakesWhenItsScopeChangesAndOnlyThen(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let utrecht = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: http)
            let zwolle = try await server.client(.officer, name: "Zeno", authority: "gm0193", transport: http)
            for client in [anna, utrecht, zwolle] { try await client.sync(transport: http) }
            #expect(try await utrecht.waitForChanges(transport: http, seconds: 0) == false, "nothing new: answered at once")

            let clock = ContinuousClock()
            let start = clock.now
            async let olga = utrecht.waitForChanges(transport: http, seconds: 30)
            async let zeno = zwolle.waitForChanges(transport: http, seconds: 2)
            try await Self.waiting(2, on: server.store.changes)
            let caseId = try anna.createObjection(authorityId: "gm0344", fields: Self.fields, submit: true)
            try await anna.sync(transport: http)
            #expect(try await olga, "Utrecht's officer wakes for a case filed with Utrecht")
            #expect(clock.now - start < .seconds(15))
            #expect(try await zeno == false, "Zwolle's officer sleeps on")
            #expect(clock.now - start >= .milliseconds(1_900))

            // The officer receives it: the citizen, waiting, wakes; her sync brings the move.
            try await utrecht.sync(transport: http)
            async let annaWakes = anna.waitForChanges(transport: http, seconds: 30)
            try await Self.waiting(1, on: server.store.changes)
            try utrecht.move(caseId: caseId, to: .received)
            try await utrecht.sync(transport: http)
            #expect(try await annaWakes)
            try await anna.sync(transport: http)
            #expect(try anna.detail(caseId: caseId).local.record.status == .received)
            // A device behind its scope is answered at once, however long it would wait.
            _ = try anna.sendMessage(caseId: caseId, body: "Thank you")
            try await anna.sync(transport: http)
            let asked = clock.now
            #expect(try await utrecht.waitForChanges(transport: http, seconds: 30))
            #expect(clock.now - asked < .seconds(15))
            try await utrecht.sync(transport: http)
            #expect(try await utrecht.waitForChanges(transport: http, seconds: 0) == false)
        }
    }

    @Test(arguments: StoreBackend.underTest)
    func waitsAreRefusedWhenMalformedAndEndWhenTheServerStops(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        let anna = try await server.device(.citizen, name: "Anna")
        for (cursor, seconds, code) in [(nil, -1, ErrorCode.invalidRequest), ("x9", 1, .invalidCursor)] as [(String?, Int, ErrorCode)] {
            await #expect {
                _ = try await server.transport.wait(cursor: cursor, seconds: seconds, token: anna.token)
            } throws: { error in
                guard case .server(400, let body) = error as? SyncTransportError else { return false }
                return body.code == code
            }
        }
        await #expect { _ = try await server.transport.wait(cursor: nil, seconds: 1, token: "cst_nobody") } throws: { error in
            guard case .server(401, _) = error as? SyncTransportError else { return false }
            return true
        }
        // A wait longer than the server holds is shortened to it.
        let brief = try await TestServer(backend, limits: ProtocolLimits(maxWaitSeconds: 1))
        let bram = try await brief.device(.citizen, name: "Bram")
        let asked = ContinuousClock.now
        #expect(try await brief.transport.wait(cursor: nil, seconds: 3_600, token: bram.token).changed == false)
        #expect(ContinuousClock.now - asked < .seconds(10))
        // Stopping: a waiting device is answered at once, unchanged.
        let clock = ContinuousClock()
        let start = clock.now
        async let waited = server.transport.wait(cursor: nil, seconds: 30, token: anna.token)
        try await Self.waiting(1, on: server.store.changes)
        server.store.changes.close()
        #expect(try await waited.changed == false)
        #expect(clock.now - start < .seconds(15))
    }
}

/// Two instances on one PostgreSQL database: a push on one wakes the devices waiting on the other.
@Suite("Live updates across instances", .enabled(if: StoreBackend.underTest.contains(.postgres)))
struct LiveUpdateInstancesTests {
    struct Instance {
        let store: PostgresSyncStore
        let lifetime: StoreLifetime
        var transport: InProcessTransport { InProcessTransport(service: SyncService(store: store, limits: .init())) }

        init(url: String, maxConnections: Int, waitRecheck: Duration = .seconds(10)) async throws {
            store = try PostgresSyncStore(url: url, maxConnections: maxConnections, waitRecheck: waitRecheck, logger: quietLogger)
            lifetime = StoreLifetime(Task { [store] in try? await store.run() })
            try await store.migrate()
        }
    }

    static func filing(_ anna: RedeemResponse) -> PushRequest {
        let caseId = testId("a", by: anna.clientId)
        return PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: caseId), .submit(2, caseId: caseId)])
    }

    @Test func aPushOnOneInstanceWakesTheDevicesWaitingOnTheOther() async throws {
        let url = try await TestPostgres.freshSchema()
        let a = try await Instance(url: url, maxConnections: 4)
        let b = try await Instance(url: url, maxConnections: 4)
        try await a.store.addAuthorities(starterAuthorities, replacingAll: false)
        let anna = try await a.store.redeem(RedeemRequest(code: try await a.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 1).code, deviceName: nil))
        let olga = try await b.store.redeem(RedeemRequest(code: try await b.store.invite(role: .officer, authorityId: "gm0344", displayName: "Olga", validFor: 1).code, deviceName: nil))
        let zeno = try await b.store.redeem(RedeemRequest(code: try await b.store.invite(role: .officer, authorityId: "gm0193", displayName: "Zeno", validFor: 1).code, deviceName: nil))
        // B must be listening before the push, or it would not hear it (its recheck would, ten seconds on).
        for _ in 0..<500 where !b.store.watch.isListening { try await Task.sleep(for: .milliseconds(10)) }
        let clock = ContinuousClock()
        let start = clock.now
        async let olgaWakes = b.transport.wait(cursor: nil, seconds: 30, token: olga.token)
        async let zenoWakes = b.transport.wait(cursor: nil, seconds: 2, token: zeno.token)
        try await LiveUpdateTests.waiting(2, on: b.store.changes)
        _ = try await a.transport.push(Self.filing(anna), token: anna.token)
        #expect(try await olgaWakes.changed)
        #expect(clock.now - start < .seconds(8), "woken by the notification, not by a recheck")
        #expect(try await zenoWakes.changed == false)
    }

    /// An instance that hears nothing (no connection to listen on, as behind a pooler that does not carry
    /// notifications) still tells its waiting devices, at its next recheck.
    @Test func aDeviceWaitingOnAnInstanceThatHearsNothingLearnsAtTheRecheck() async throws {
        let url = try await TestPostgres.freshSchema()
        let a = try await Instance(url: url, maxConnections: 4)
        let deaf = try await Instance(url: url, maxConnections: 1, waitRecheck: .milliseconds(300))
        try await a.store.addAuthorities(starterAuthorities, replacingAll: false)
        let anna = try await a.store.redeem(RedeemRequest(code: try await a.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 1).code, deviceName: nil))
        let olga = try await deaf.store.redeem(RedeemRequest(code: try await deaf.store.invite(role: .officer, authorityId: "gm0344", displayName: "Olga", validFor: 1).code, deviceName: nil))
        let clock = ContinuousClock()
        let start = clock.now
        async let olgaWakes = deaf.transport.wait(cursor: nil, seconds: 30, token: olga.token)
        try await LiveUpdateTests.waiting(1, on: deaf.store.changes)
        _ = try await a.transport.push(Self.filing(anna), token: anna.token)
        #expect(try await olgaWakes.changed)
        #expect(clock.now - start < .seconds(10))
        #expect(!deaf.store.watch.isListening)
    }
}
