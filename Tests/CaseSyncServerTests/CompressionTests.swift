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
}
