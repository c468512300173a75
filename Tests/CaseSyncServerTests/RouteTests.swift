import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerApp
import CaseSyncServerPostgres
import CaseSyncTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("HTTP routes: errors, versions, limits")
struct RouteTests {
    static let version: HTTPFields = [HTTPField.Name(ProtocolVersion.headerName)!: "1"]

    static func errorCode(_ response: TestResponse) -> ErrorCode? {
        let envelope = try? WireCoding.decoder().decode(ErrorEnvelope.self, from: Data(buffer: response.body))
        #expect(envelope?.error.message.isEmpty == false)
        return envelope?.error.code
    }

    @Test(arguments: StoreBackend.underTest) func discoveryNamesVersionsAndLimits(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await Application(router: server.router).test(.router) { client in
            try await client.execute(uri: "/.well-known/casesync", method: .get) { response in
                #expect(response.status == .ok)
                let discovery = try WireCoding.decoder().decode(DiscoveryResponse.self, from: Data(buffer: response.body))
                #expect(discovery.protocolVersions == [1])
                #expect(discovery.limits == ProtocolLimits())
            }
        }
    }

    @Test(arguments: StoreBackend.underTest) func healthSaysTheDatabaseAnswers(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await Application(router: server.router).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
        }
    }

    @Test func healthTakesAnInstanceWhoseDatabaseIsGoneOutOfRotation() async throws {
        // A PostgreSQL store whose database does not listen: the instance runs, but cannot serve.
        let port = try RawConnection.unusedPort()
        let store = try PostgresSyncStore(url: "postgres://casesync@127.0.0.1:\(port)/casesync?sslmode=disable", logger: quietLogger)
        let lifetime = StoreLifetime(Task { try? await store.run() })
        let router = buildRouter(service: SyncService(store: store, limits: .init()))
        let started = ContinuousClock.now
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(Self.errorCode(response) == .unavailable)
            }
        }
        #expect(ContinuousClock.now - started < .seconds(10), "the check is bounded")
        _ = lifetime
    }

    @Test(arguments: [
        ("/sync/push", HTTPRequest.Method.get, "POST"), ("/sync/pull", .post, "GET"), ("/auth/redeem", .delete, "POST"),
        ("/health", .put, "GET"), ("/.well-known/casesync", .trace, "GET"),
    ])
    func aWrongMethodIsAnswered405WithTheAllowedOne(path: String, method: HTTPRequest.Method, allowed: String) async throws {
        let server = try TestServer()
        try await Application(router: server.router).test(.router) { client in
            try await client.execute(uri: path, method: method, headers: Self.version) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == allowed)
                #expect(Self.errorCode(response) == .methodNotAllowed)
            }
            try await client.execute(uri: path + "/x", method: method, headers: Self.version) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test(arguments: StoreBackend.underTest) func versionNegotiation(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await Application(router: server.router).test(.router) { client in
            try await client.execute(uri: "/sync/pull", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(Self.errorCode(response) == .protocolVersionRequired)
            }
            try await client.execute(uri: "/sync/pull", method: .get, headers: [HTTPField.Name(ProtocolVersion.headerName)!: "2"]) {
                response in
                #expect(response.status == .badRequest)
                let envelope = try WireCoding.decoder().decode(ErrorEnvelope.self, from: Data(buffer: response.body))
                #expect(envelope.error.code == .unsupportedProtocolVersion)
                #expect(envelope.error.details?["supported"] == "1-1")
            }
        }
    }

    @Test(arguments: StoreBackend.underTest) func badBodiesGetStableCodesAndNameTheProblem(backend: StoreBackend) async throws {
        let server = try await TestServer(backend, limits: ProtocolLimits(maxBodyBytes: 2_000))
        let anna = try await server.device(.citizen, name: "Anna")
        var authorized = Self.version
        authorized[.authorization] = "Bearer \(anna.token)"
        let headers = authorized
        let huge = String(repeating: "x", count: 5_000)
        let cases: [(String, HTTPResponse.Status, ErrorCode, String?)] = [
            ("{not json", .badRequest, .malformedJSON, nil),
            (#"{"clientId": 5, "mutations": []}"#, .badRequest, .invalidRequest, "clientId"),
            (#"{"clientId": "x"}"#, .badRequest, .invalidRequest, "mutations is missing"),
            (#"{"clientId": "\#(anna.clientId)", "mutations": [{"mutationId": 1, "caseId": "\#(testId("a"))", "hlc": "bad", "op": "delete"}]}"#,
             .badRequest, .invalidRequest, "hlc"),
            (#"{"clientId": "\#(huge)", "mutations": []}"#, .contentTooLarge, .payloadTooLarge, nil),
        ]
        try await Application(router: server.router).test(.router) { client in
            for (body, status, code, mention) in cases {
                try await client.execute(uri: "/sync/push", method: .post, headers: headers, body: ByteBuffer(string: body)) {
                    response in
                    #expect(response.status == status)
                    let envelope = try WireCoding.decoder().decode(ErrorEnvelope.self, from: Data(buffer: response.body))
                    #expect(envelope.error.code == code)
                    if let mention { #expect(envelope.error.message.contains(mention), "\(envelope.error.message)") }
                }
            }
            try await client.execute(uri: "/sync/pull?limit=0", method: .get, headers: headers) { response in
                #expect(Self.errorCode(response) == .invalidRequest)
            }
            try await client.execute(uri: "/sync/pull?limit=ten", method: .get, headers: headers) { response in
                #expect(Self.errorCode(response) == .invalidRequest)
            }
        }
        // Nothing of it was applied.
        #expect(try await server.transport.pull(cursor: nil, limit: nil, token: anna.token).changes.isEmpty)
    }

    @Test(arguments: StoreBackend.underTest) func unknownEndpointsAndMissingTokensAnswerInJSON(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await Application(router: server.router).test(.router) { client in
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(Self.errorCode(response) == .notFound)
            }
            try await client.execute(uri: "/sync/push", method: .post, headers: Self.version, body: ByteBuffer(string: "{}")) {
                response in
                #expect(response.status == .unauthorized)
                #expect(Self.errorCode(response) == .unauthorized)
            }
            var forged = Self.version
            forged[.authorization] = "Bearer cst_forged"
            let headers = forged
            try await client.execute(uri: "/sync/pull", method: .get, headers: headers) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }
}

/// What an instance tells its operator: metrics at /metrics and a line per request, without content.
@Suite("Metrics and the access log")
struct ObservabilityTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            lines.add("\(event.message) " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        }
    }

    @Test func theOperatorSeesRoutesStatusesAndOutcomesButNoContent() async throws {
        let server = try TestServer()
        let anna = try await server.device(.citizen, name: "Anna Geheim")
        let lines = Lines()
        let registry = InstanceMetrics.registry
        let router = buildRouter(
            service: server.service,
            observability: Observability(
                instance: "web-1", accessLog: Logger(label: "access") { _ in Capture(lines: lines) },
                exportMetrics: { registry.emitToBuffer() }))
        let push = PushRequest(
            stamping: anna.clientId,
            mutations: [.create(1, caseId: testId("a", by: anna.clientId), grounds: "Mijn geheime gronden")])
        try await Application(router: router).test(.router) { client in
            var headers = RouteTests.version
            headers[.authorization] = "Bearer \(anna.token)"
            headers[.contentType] = "application/json"
            try await client.execute(uri: "/sync/push", method: .post, headers: headers, body: ByteBuffer(bytes: push.jsonBytes)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/sync/pull?cursor=0", method: .get, headers: headers) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4")
                let text = String(buffer: response.body)
                #expect(text.contains(#"casesync_push_mutations_total{outcome="applied"}"#))
                #expect(text.contains("casesync_pull_bytes_total"))
                #expect(text.contains(#"http_route="/sync/push""#))
                #expect(!text.contains("Geheim") && !text.contains("geheime") && !text.contains(anna.token))
            }
        }
        let logged = lines.all
        #expect(logged.contains { $0.contains("route=/sync/push") && $0.contains("status=200") && $0.contains("instance=web-1") })
        #expect(logged.contains { $0.contains("route=/sync/pull") && $0.contains("duration_ms=") })
        #expect(!logged.contains { $0.contains("Geheim") || $0.contains("geheime") || $0.contains(anna.token) || $0.contains("cursor=0") })
    }
}
