import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerPostgres
import CaseSyncServerSQLite
import Foundation
import GRDB
import Logging
import PostgresNIO

/// The backends a store test runs against: SQLite always, PostgreSQL when the run has a cluster
/// (`tools/test` starts one and sets CASESYNC_TEST_DATABASE_URL). Under CI a missing cluster fails the
/// run instead of quietly testing one backend.
public enum StoreBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var underTest: [StoreBackend] {
        if TestPostgres.url != nil { return [.sqlite, .postgres] }
        precondition(
            ProcessInfo.processInfo.environment["CI"] != "true",
            "CI runs every store test on PostgreSQL too: start one with tools/test (CASESYNC_TEST_DATABASE_URL is not set)")
        return [.sqlite]
    }

    /// A new, empty store of this backend, running until the returned lifetime is released.
    public func makeStore(environment: ServerEnvironment, limits: ProtocolLimits, logger: Logger) async throws
        -> (store: any SyncStore, lifetime: StoreLifetime)
    {
        switch self {
        case .sqlite:
            return (try SQLiteSyncStore(writer: DatabaseQueue(), environment: environment, limits: limits, logger: logger), StoreLifetime())
        case .postgres:
            let store = try PostgresSyncStore(
                url: try await TestPostgres.freshSchema(), environment: environment, limits: limits, maxConnections: 4, logger: logger)
            let lifetime = StoreLifetime(Task { try? await store.run() })
            try await store.migrate()
            return (store, lifetime)
        }
    }
}

/// Keeps a store's background work (a PostgreSQL pool) running while it is held; ends it when released.
public final class StoreLifetime: Sendable {
    private let task: Task<Void, Never>?

    public init(_ task: Task<Void, Never>? = nil) { self.task = task }

    deinit { task?.cancel() }
}

/// The PostgreSQL cluster of this test run.
public enum TestPostgres {
    public static var url: String? {
        ProcessInfo.processInfo.environment["CASESYNC_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A URL whose connections work in a schema of their own, created empty: each store test starts
    /// from nothing, and the run's cluster is thrown away at its end.
    public static func freshSchema() async throws -> String {
        guard let url, var components = URLComponents(string: url) else {
            throw ServiceError(.internalError, "CASESYNC_TEST_DATABASE_URL is not set")
        }
        let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let configuration = PostgresConnection.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "casesync",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test-postgres"))
        do {
            try await connection.query("CREATE SCHEMA \(unescaped: schema)", logger: Logger(label: "test-postgres"))
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
        components.queryItems = [URLQueryItem(name: "sslmode", value: "disable"), URLQueryItem(name: "options", value: "-c search_path=\(schema)")]
        return components.string!
    }
}

/// A seeded generator (SplitMix64): the same seed gives the same sequence.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
