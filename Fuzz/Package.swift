// swift-tools-version:6.1
// libFuzzer targets for CaseSync's input boundary. Built and run by `tools/fuzz` (see Fuzz/README.md);
// not part of the main package, whose build never sees `-sanitize=fuzzer`.
import PackageDescription

let package = Package(
    name: "CaseSyncFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "CaseSync", path: ".."),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Every strict reader of CaseSyncProtocol, checked against Foundation where it accepts.
        .executableTarget(
            name: "FuzzReader",
            dependencies: [.product(name: "CaseSyncProtocol", package: "CaseSync")]
        ),
        // The server's whole push path, in process, on an in-memory database.
        .executableTarget(
            name: "FuzzPush",
            dependencies: [
                .product(name: "CaseSyncServer", package: "CaseSync"),
                .product(name: "CaseSyncServerSQLite", package: "CaseSync"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
