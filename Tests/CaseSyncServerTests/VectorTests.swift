import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerSQLite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Replays `Protocol/vectors/*.json` against the server: every request must get exactly the
/// recorded response. The client's tests load the same files. Set CASESYNC_RECORD_VECTORS=1 to
/// rewrite the expected responses after a deliberate protocol change (then review the diff).
@Suite("Protocol test vectors (server side)")
struct VectorTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test func thereAreVectors() {
        #expect(Self.files.count >= 6)
    }

    @Test(arguments: files)
    func replay(file: String) async throws {
        let url = Self.directory.appendingPathComponent(file)
        var vector = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        // A vector may set the server's limits (those it leaves out keep their defaults).
        let limits = try vector["limits"].map {
            try WireCoding.decoder().decode(ProtocolLimits.self, from: JSONSerialization.data(withJSONObject: $0))
        } ?? ProtocolLimits()
        let server = try TestServer(limits: limits, determinism: Determinism(stepMillis: 0))
        var tokens: [String: String] = [:]
        var placeholders: [String: String] = [:]
        let record = ProcessInfo.processInfo.environment["CASESYNC_RECORD_VECTORS"] == "1"
        var devices = vector["devices"] as? [[String: Any]] ?? []
        for (index, device) in devices.enumerated() {
            let name = try #require(device["name"] as? String)
            if device["inviteOnly"] as? Bool == true {
                let invitation = try await server.store.invite(
                    role: try #require(ActorRole(rawValue: device["role"] as? String ?? "")),
                    authorityId: device["authority"] as? String, displayName: device["displayName"] as? String ?? name, validFor: 7)
                placeholders["{{loginCode:\(name)}}"] = invitation.code
                continue
            }
            let redeemed: RedeemResponse
            if let sibling = device["sameAccountAs"] as? String {
                redeemed = try await server.device(of: try #require(placeholders["{{accountId:\(sibling)}}"]))
            } else {
                redeemed = try await server.device(
                    try #require(ActorRole(rawValue: device["role"] as? String ?? "")), name: device["displayName"] as? String ?? name,
                    authority: device["authority"] as? String)
            }
            tokens[name] = redeemed.token
            // Client ids come from the server's seeded randomness: the same on every replay. The client's
            // vector tests use the recorded one, so their checksums cover the same created ids.
            if record {
                devices[index]["clientId"] = redeemed.clientId
            } else if let recorded = device["clientId"] as? String {
                #expect(redeemed.clientId == recorded, "\(file): \(name)'s client id")
            }
            placeholders["{{clientId:\(name)}}"] = redeemed.clientId
            placeholders["{{accountId:\(name)}}"] = redeemed.account.id
        }
        // Ids a device created: {{createdId:anna:<random uuid>}} (PROTOCOL.md §2).
        let text = try String(contentsOf: url, encoding: .utf8)
        for match in text.matches(of: /\{\{createdId:([a-z0-9-]+):([0-9a-f-]{36})\}\}/) {
            let clientId = try #require(placeholders["{{clientId:\(match.output.1)}}"])
            placeholders[String(match.output.0)] = CreatedId.make(from: String(match.output.2), clientId: clientId)
        }
        let stepsData = try JSONSerialization.data(withJSONObject: try #require(vector["steps"] as? [[String: Any]]))
        let app = Application(router: server.router)
        let placeholderMap = placeholders
        let tokenMap = tokens
        let recorded = try await app.test(.router) { client -> Data in
            let steps = try #require(try JSONSerialization.jsonObject(with: stepsData) as? [[String: Any]])
            var recordedSteps = steps
            for (index, step) in steps.enumerated() {
                let request = try #require(step["request"] as? [String: Any])
                var headers: HTTPFields = [:]
                if request["omitVersion"] as? Bool != true {
                    headers[HTTPField.Name(ProtocolVersion.headerName)!] = (request["version"] as? String) ?? "1"
                }
                if let device = step["device"] as? String, let token = tokenMap[device] {
                    headers[.authorization] = "Bearer \(token)"
                }
                // Headers a step sets (Range), and a body of bytes (a file's piece), in base64.
                for (name, value) in request["headers"] as? [String: String] ?? [:] {
                    headers[HTTPField.Name(name)!] = value
                }
                var body: ByteBuffer?
                if let base64 = request["bodyBase64"] as? String {
                    body = ByteBuffer(bytes: try #require(Data(base64Encoded: base64)))
                } else if let raw = request["rawBody"] as? String {
                    body = ByteBuffer(string: substitute(raw, placeholderMap) as? String ?? raw)
                } else if let object = request["body"] {
                    body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: substitute(object, placeholderMap)))
                }
                let method = HTTPRequest.Method(rawValue: try #require(request["method"] as? String))!
                let written = try #require(request["path"] as? String)
                let path = substitute(written, placeholderMap) as? String ?? written
                // A JSON answer is compared as JSON; a file's bytes as base64, with the headers that describe them.
                let (status, answer, fileHeaders) = try await client.execute(uri: path, method: method, headers: headers, body: body) {
                    response -> (Int, Any, [String: String]?) in
                    let bytes = Data(buffer: response.body)
                    guard response.headers[.contentType] != "application/json" else {
                        return (Int(response.status.code), try JSONSerialization.jsonObject(with: bytes), nil)
                    }
                    let described: [HTTPField.Name] = [.contentType, .contentRange, .contentLength, .eTag]
                    let kept = Dictionary(uniqueKeysWithValues: described.compactMap { name in response.headers[name].map { (name.canonicalName, $0) } })
                    return (Int(response.status.code), bytes.base64EncodedString(), kept)
                }
                let expected = try #require(step["response"] as? [String: Any])
                if record {
                    recordedSteps[index]["response"] =
                        fileHeaders.map { ["status": status, "bodyBase64": answer, "headers": $0] }
                        ?? ["status": status, "body": reverse(answer, placeholderMap)]
                } else if let fileHeaders {
                    #expect(status == expected["status"] as? Int, "\(file) step \(index + 1): status")
                    #expect(answer as? String == expected["bodyBase64"] as? String, "\(file) step \(index + 1): bytes")
                    #expect(fileHeaders == expected["headers"] as? [String: String], "\(file) step \(index + 1): headers")
                } else {
                    #expect(status == expected["status"] as? Int, "\(file) step \(index + 1): status")
                    let want = substitute(expected["body"] ?? NSNull(), placeholderMap)
                    #expect(canonical(answer) == canonical(want), "\(file) step \(index + 1): body")
                }
            }
            return try JSONSerialization.data(withJSONObject: recordedSteps)
        }
        if record {
            vector["steps"] = try JSONSerialization.jsonObject(with: recorded)
            vector["devices"] = devices
            let data = try JSONSerialization.data(withJSONObject: vector, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try (String(decoding: data, as: UTF8.self) + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
    }
}

/// Replaces placeholder strings (`{{clientId:anna}}`) inside a JSON value.
func substitute(_ value: Any, _ map: [String: String]) -> Any {
    switch value {
    case let text as String:
        var result = text
        for (key, replacement) in map { result = result.replacingOccurrences(of: key, with: replacement) }
        return result
    case let array as [Any]: return array.map { substitute($0, map) }
    case let object as [String: Any]: return object.mapValues { substitute($0, map) }
    default: return value
    }
}

/// Puts placeholders back where the actual values stand (for recording).
func reverse(_ value: Any, _ map: [String: String]) -> Any {
    substitute(value, Dictionary(map.map { ($0.value, $0.key) }, uniquingKeysWith: { min($0, $1) }))
}

/// A JSON value as sorted-key text, for comparison.
func canonical(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else {
        return "\(value)"
    }
    return String(decoding: data, as: UTF8.self)
}
