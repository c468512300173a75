import CaseSyncServer
import CaseSyncServerApp
import CaseSyncServerPostgres
import CaseSyncTesting
import Foundation
import Testing

/// An acknowledged push is on disk on PostgreSQL too: a database whose commits do not wait for the
/// disk is refused before the server serves from it.
@Suite("Durable commits on PostgreSQL", .enabled(if: StoreBackend.underTest.contains(.postgres)))
struct PostgresDurabilityTests {
    @Test func aDatabaseWhoseCommitsDoNotWaitForTheDiskIsRefused() async throws {
        let url = try #require(TestPostgres.url)
        var components = try #require(URLComponents(string: url))
        components.queryItems = [URLQueryItem(name: "sslmode", value: "disable"), URLQueryItem(name: "options", value: "-c synchronous_commit=off")]
        let careless = try PostgresSyncStore(url: try #require(components.string), maxConnections: 2, logger: quietLogger)
        await #expect {
            try await careless.whileRunning { try await $0.checkDurableCommits() }
        } throws: { error in
            (error as? ServiceError)?.message.contains("synchronous_commit = off") == true
        }
        // Every command opens its store through the check.
        let configuration = ServerConfiguration(databaseURL: try #require(components.string))
        await #expect(throws: ServiceError.self) {
            try await Backend.withStore(configuration, logger: quietLogger) { _ in }
        }
        // As shipped (on), and as a synchronous standby would have it (remote_apply): served.
        for setting in ["on", "remote_apply"] {
            components.queryItems = [URLQueryItem(name: "sslmode", value: "disable"), URLQueryItem(name: "options", value: "-c synchronous_commit=\(setting)")]
            try await PostgresSyncStore(url: try #require(components.string), maxConnections: 2, logger: quietLogger)
                .whileRunning { try await $0.checkDurableCommits() }
        }
    }
}
