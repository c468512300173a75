import CaseSyncProtocol
import CaseSyncServer
@testable import CaseSyncServerPostgres
import CaseSyncTesting
import Foundation
import PostgresNIO
import Testing

/// An instance answers "nothing new" from what it knows of a scope only when that is as fresh as the
/// database: even when it hears of other instances' changes late, or not at all for a while.
@Suite("Scopes known from notifications", .enabled(if: StoreBackend.underTest.contains(.postgres)))
struct ScopeWatchTests {
    typealias Instances = ConcurrentInstancesTests.Instances
    typealias Pulled = ConcurrentInstancesTests.Pulled

    static func watch(_ instances: Instances, _ index: Int) -> ScopeWatch {
        (instances.services[index].store as! PostgresSyncStore).watch
    }

    /// Waits (at most 10 s) until the instance listens.
    static func listening(_ watch: ScopeWatch) async throws {
        for _ in 0..<200 where !watch.isListening { try await Task.sleep(for: .milliseconds(50)) }
        #expect(watch.isListening)
    }

    /// A case of the device's, filed through `transport`.
    static func file(_ number: Int64, by device: RedeemResponse, on transport: InProcessTransport) async throws {
        let id = testId("case\(number)", by: device.clientId)
        let response = try await transport.push(
            PushRequest(stamping: device.clientId, mutations: [.create(number, caseId: id)]), token: device.token)
        #expect(response.outcomes.map(\.status) == [.applied])
    }

    @Test func anInstanceThatHearsLateStillAnswersEveryChangeCommittedBeforeThePull() async throws {
        // The second instance hears of every change 60 ms after PostgreSQL tells it.
        let instances = try await Instances(waitMillis: 0...0, hearingMillis: [0, 60])
        let watch = Self.watch(instances, 1)
        try await Self.listening(watch)
        let laptop = try await instances.device(.citizen, name: "Anna")
        let phone = try await instances.services[0].store.redeem(
            RedeemRequest(code: try await instances.services[0].store.inviteDevice(accountId: laptop.account.id, validFor: 1).code,
                          deviceName: "phone"))
        var pulled = Pulled()
        try await pulled.pull(instances.transport(1), token: phone.token)
        for number in Int64(1)...12 {
            // Up to date, by what the second instance knows ...
            #expect(try await pulled.pull(instances.transport(1), token: phone.token) == 0)
            // ... then the laptop files a case through the first, and the phone asks the second at once.
            try await Self.file(number, by: laptop, on: instances.transport(0))
            let arrived = try await pulled.pull(instances.transport(1), token: phone.token)
            #expect(arrived == 2, "the case and its event, filed before the pull, are in its answer (case \(number))")
            #expect(pulled.checksum == pulled.computedChecksum)
        }
        #expect(pulled.records.count == 24)
        // And up-to-date devices were answered from memory, not by the database.
        #expect(watch.answeredFromMemoryCount >= 6)
    }

    @Test func anInstanceThatStopsHearingAsksTheDatabaseAndListensAgain() async throws {
        let instances = try await Instances(waitMillis: 0...0)
        let watch = Self.watch(instances, 1)
        try await Self.listening(watch)
        let anna = try await instances.device(.citizen, name: "Anna")
        var pulled = Pulled()
        try await pulled.pull(instances.transport(1), token: anna.token)
        try await pulled.pull(instances.transport(1), token: anna.token)
        let before = watch.answeredFromMemoryCount
        try await pulled.pull(instances.transport(1), token: anna.token)
        #expect(watch.answeredFromMemoryCount == before + 1)
        // The listening connections end (PostgreSQL ends them, as on a failover or a restart) ...
        let url = try #require(TestPostgres.url.flatMap(URLComponents.init(string:)))
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: url.host ?? "127.0.0.1", port: url.port ?? 5432, username: url.user ?? "casesync", password: url.password,
                database: String(url.path.dropFirst()), tls: .disable),
            id: 1, logger: quietLogger)
        try await connection.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
            logger: quietLogger)
        try await connection.close()
        // ... and changes made meanwhile are never missed: the instance asks the database until it listens again.
        for number in Int64(1)...5 {
            try await Self.file(number, by: anna, on: instances.transport(0))
            #expect(try await pulled.pull(instances.transport(1), token: anna.token) == 2)
        }
        try await Self.listening(watch)
        try await pulled.pull(instances.transport(1), token: anna.token)
        let again = watch.answeredFromMemoryCount
        try await pulled.pull(instances.transport(1), token: anna.token)
        #expect(watch.answeredFromMemoryCount == again + 1)
        #expect(pulled.records.count == 10 && pulled.checksum == pulled.computedChecksum)
    }
}
