import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import Foundation
import Testing

/// Pull pages (and exports) travel gzipped to a client that takes gzip, over real HTTP.
@Suite("Compressed answers", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")))
struct CompressionTests {
    /// One request with curl: the answer's headers (lower-cased) and its body as it came over the wire.
    static func curl(_ url: String, token: String, _ extra: [String] = []) async throws -> (headers: String, body: Data) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (headers, body) = (directory.appendingPathComponent("headers").path, directory.appendingPathComponent("body").path)
        let (_, status) = try await ServerTLSTests.run("/usr/bin/curl", [
            "-sS", "--max-time", "10", "-D", headers, "-o", body, "-H", "Authorization: Bearer \(token)",
            "-H", "CaseSync-Protocol-Version: 1",
        ] + extra + [url])
        #expect(status == 0)
        return (try String(contentsOfFile: headers, encoding: .utf8).lowercased(), try Data(contentsOf: URL(fileURLWithPath: body)))
    }

    @Test func aLargePullTravelsGzippedToAClientThatTakesItAndPlainToOneThatDoesNot() async throws {
        let server = try TestServer()
        let anna = try await server.device(.citizen, name: "Anna")
        let mutations = (1...20).map { Mutation.create(Int64($0), caseId: testId("case-\($0)", by: anna.clientId)) }
        _ = try await server.transport.push(PushRequest(stamping: anna.clientId, mutations: mutations), token: anna.token)
        try await server.live { url in
            let pull = url.absoluteString + "/sync/pull"
            let plain = try await Self.curl(pull, token: anna.token)
            #expect(!plain.headers.contains("content-encoding"))
            let packed = try await Self.curl(pull, token: anna.token, ["-H", "Accept-Encoding: gzip"])
            #expect(packed.headers.contains("content-encoding: gzip") && packed.headers.contains("vary: accept-encoding"))
            #expect(packed.body.count * 3 < plain.body.count, "\(packed.body.count) bytes against \(plain.body.count)")
            #expect(packed.body.starts(with: [0x1f, 0x8b]), "gzip's magic number")
            // Unpacked, it is the same page, byte for byte.
            let unpacked = try await Self.curl(pull, token: anna.token, ["--compressed"])
            #expect(unpacked.body == plain.body && unpacked.headers.contains("content-encoding: gzip"))
            // Refused with q=0, or asked for another coding only: plain.
            for refusal in ["gzip;q=0", "br", "identity"] {
                #expect(!(try await Self.curl(pull, token: anna.token, ["-H", "Accept-Encoding: \(refusal)"]).headers.contains("content-encoding")))
            }
            // Small answers go plain even to a client that takes gzip.
            let small = try await Self.curl(url.absoluteString + "/sync/pull?limit=1", token: anna.token, ["-H", "Accept-Encoding: gzip"])
            #expect(!small.headers.contains("content-encoding"))
            // The library (URLSession) asks for it and unpacks it itself.
            let page = try await HTTPTransport(baseURL: url).pull(cursor: nil, limit: nil, token: anna.token)
            #expect(page.changes.filter { $0.type == .case }.count == 20)
        }
    }

    @Test func aGzippedPushIsUnpackedWithinTheBodyLimitAndOtherCodingsAreRefused() async throws {
        let server = try TestServer(limits: ProtocolLimits(maxBodyBytes: 64 * 1_024))
        let anna = try await server.device(.citizen, name: "Anna")
        let mutations = (1...20).map { Mutation.create(Int64($0), caseId: testId("case-\($0)", by: anna.clientId)) }
        let plain = PushRequest(stamping: anna.clientId, mutations: mutations).jsonBytes
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-push-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        @Sendable func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let path = directory.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return "@" + path
        }
        // Ten times what the server takes, in a few hundred bytes: it must stop unpacking at its limit.
        let bomb = try #require(Gzip.compress(Array(repeating: UInt8(ascii: " "), count: 640 * 1_024) + plain, level: 9))
        #expect(bomb.count < 4_096)
        try await server.live { url in
            let push = url.absoluteString + "/sync/push"
            func post(_ body: String, _ coding: String) async throws -> (headers: String, body: Data) {
                try await Self.curl(push, token: anna.token, [
                    "-X", "POST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: \(coding)", "--data-binary", body,
                ])
            }
            let packed = try await post(try file("push.gz", try #require(Gzip.compress(plain))), "gzip")
            #expect(packed.headers.hasPrefix("http/1.1 200"))
            let outcomes = try PushResponse(json: packed.body).outcomes
            #expect(outcomes.count == 20 && outcomes.allSatisfy { $0.status == .applied })
            let tooLarge = try await post(try file("bomb.gz", bomb), "gzip")
            #expect(tooLarge.headers.hasPrefix("http/1.1 413") && String(decoding: tooLarge.body, as: UTF8.self).contains("payload_too_large"))
            let cut = try await post(try file("cut.gz", Array(try #require(Gzip.compress(plain)).dropLast(9))), "gzip")
            #expect(cut.headers.hasPrefix("http/1.1 400") && String(decoding: cut.body, as: UTF8.self).contains("gzip"))
            // Nothing is unpacked before a login.
            let redeem = try await Self.curl(url.absoluteString + "/auth/redeem", token: "none", [
                "-X", "POST", "-H", "Content-Type: application/json", "-H", "Content-Encoding: gzip", "--data-binary",
                try file("redeem.gz", try #require(Gzip.compress(Array(#"{"code":"ABCD-EFGH"}"#.utf8)))),
            ])
            #expect(redeem.headers.hasPrefix("http/1.1 415"))
            let other = try await post(try file("push.br", plain), "br")
            #expect(other.headers.hasPrefix("http/1.1 415") && String(decoding: other.body, as: UTF8.self).contains("unsupported_encoding"))
            // The library gzips a large push by itself, and the server takes it.
            let more = (21...60).map { Mutation.create(Int64($0), caseId: testId("case-\($0)", by: anna.clientId)) }
            let request = PushRequest(stamping: anna.clientId, mutations: more)
            #expect(request.jsonBytes.count >= HTTPTransport.compressFrom)
            let answer = try await HTTPTransport(baseURL: url).push(request, token: anna.token)
            #expect(answer.outcomes.count == 40 && answer.outcomes.allSatisfy { $0.status == .applied })
        }
    }

    @Test func gzipRoundTripsAndRefusesWhatIsNotOneWholeMember() throws {
        let text = Array("{\"changes\":[]} ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 5_000)
        let packed = try #require(Gzip.compress(text))
        #expect(try Gzip.decompress(packed, limit: text.count) == text)
        #expect(throws: Gzip.Failure.tooLarge) { try Gzip.decompress(packed, limit: text.count - 1) }
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress(Array(packed.dropLast()), limit: 10_000) }
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress(packed + packed, limit: 100_000) }
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress(text, limit: 100_000) }
        #expect(throws: Gzip.Failure.corrupt) { try Gzip.decompress([], limit: 100_000) }
    }
}
