// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "CaseSync",
    platforms: [.macOS(.v14), .iOS(.v17)],
    products: [
        .library(name: "CaseSyncProtocol", targets: ["CaseSyncProtocol"]),
        .library(name: "CaseSyncDomain", targets: ["CaseSyncDomain"]),
        .library(name: "CaseSyncCore", targets: ["CaseSyncCore"]),
        .library(name: "CaseSyncServer", targets: ["CaseSyncServer"]),
        .library(name: "CaseSyncServerSQLite", targets: ["CaseSyncServerSQLite"]),
        .library(name: "CaseSyncServerPostgres", targets: ["CaseSyncServerPostgres"]),
        .executable(name: "casesync", targets: ["casesync"]),
        .executable(name: "casesync-server", targets: ["casesync-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "CaseSyncProtocol", dependencies: ["CZlib"]),
        .target(name: "CaseSyncDomain", dependencies: ["CaseSyncProtocol"]),
        // SQLite through its C interface for the per-record statements of the sync path (both sides).
        .target(
            name: "CaseSyncSQLite",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")]
        ),
        .target(
            name: "CaseSyncCore",
            dependencies: [
                "CaseSyncDomain", "CaseSyncProtocol", "CaseSyncSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                // SHA-256 of attachments (CryptoKit on Apple platforms, BoringSSL elsewhere).
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The system's zlib (Debian: zlib1g-dev), for gzip answers.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The server's protocol, rules and HTTP, over a store port; no backend in it.
        .target(
            name: "CaseSyncServer",
            dependencies: [
                "CaseSyncDomain", "CaseSyncProtocol", "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The embedded default: one SQLite file.
        .target(
            name: "CaseSyncServerSQLite",
            dependencies: [
                "CaseSyncServer", "CaseSyncDomain", "CaseSyncProtocol", "CaseSyncSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Several instances over one PostgreSQL database.
        .target(
            name: "CaseSyncServerPostgres",
            dependencies: [
                "CaseSyncServer", "CaseSyncDomain", "CaseSyncProtocol",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The composition root: which store a configuration names, and the application over it.
        .target(
            name: "CaseSyncServerApp",
            dependencies: [
                "CaseSyncServer", "CaseSyncServerSQLite", "CaseSyncServerPostgres", "CaseSyncSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "casesync",
            dependencies: ["CaseSyncCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "casesync-server",
            dependencies: [
                "CaseSyncServer", "CaseSyncServerApp", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // The benchmark's load generator and measurements (tools/bench runs it in release).
        .executableTarget(
            name: "casesync-bench",
            dependencies: [
                "CaseSyncCore", "CaseSyncServer", "CaseSyncServerSQLite", "CaseSyncServerPostgres", "CaseSyncSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "tools/bench",
            exclude: ["NOTES.md"]
        ),
        // What the test suites share: the store backends under test (the store contract), seeded randomness.
        .target(
            name: "CaseSyncTesting",
            dependencies: [
                "CaseSyncServer", "CaseSyncServerSQLite", "CaseSyncServerPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CaseSyncTesting"
        ),
        .testTarget(name: "CaseSyncProtocolTests", dependencies: ["CaseSyncProtocol"]),
        .testTarget(name: "CaseSyncDomainTests", dependencies: ["CaseSyncDomain"]),
        .testTarget(name: "CaseSyncCoreTests", dependencies: ["CaseSyncCore"]),
        .testTarget(
            name: "CaseSyncServerTests",
            dependencies: [
                "CaseSyncServer", "CaseSyncServerSQLite", "CaseSyncServerPostgres", "CaseSyncServerApp", "CaseSyncCore",
                "CaseSyncTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "CaseSyncSimulationTests",
            dependencies: [
                "CaseSyncServer", "CaseSyncServerSQLite", "CaseSyncServerPostgres", "CaseSyncCore", "CaseSyncTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
