import CaseSyncProtocol
import Foundation
import Hummingbird

/// gzip for answers that are worth it (RFC 9110 §8.4): a pull page of 1,000 cases is 1.2 MB as JSON and
/// about a tenth of it compressed. Sent only to a client that says it accepts gzip (URLSession does, on
/// Apple platforms and on Linux alike, and unpacks it itself); small answers go as they are.
enum ResponseCompression {
    /// Answers smaller than this go uncompressed (the header and the work would cost more than they save).
    static let minimumBytes = 1_024

    /// Whether the request's `Accept-Encoding` takes gzip: named (or `*`) with a weight above 0.
    static func acceptsGzip(_ request: Request) -> Bool {
        guard let header = request.headers[.acceptEncoding] else { return false }
        var weights: [String: Double] = [:]
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = fields.first else { continue }
            weights[coding] = fields.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
        }
        return (weights["gzip"] ?? weights["x-gzip"] ?? weights["*"] ?? 0) > 0
    }

    /// A JSON answer, compressed when the request accepts it and it is large enough.
    static func json(_ bytes: [UInt8], for request: Request) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .vary: "Accept-Encoding"]
        guard bytes.count >= minimumBytes, acceptsGzip(request), let packed = Gzip.compress(bytes) else {
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        headers[.contentEncoding] = "gzip"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: packed)))
    }
}

/// Request bodies a client sent gzipped (`Content-Encoding: gzip`): unpacked within `maxBodyBytes`
/// (which bounds what they unpack to, not only what arrives), any other coding refused.
enum RequestDecompression {
    static func body(_ bytes: [UInt8], of request: Request, limit: Int, gzip: Bool = true) throws -> [UInt8] {
        let coding = request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() ?? "identity"
        switch coding {
        case "identity", "":
            return bytes
        case "gzip" where gzip, "x-gzip" where gzip:
            do {
                return try Gzip.decompress(bytes, limit: limit)
            } catch .tooLarge {
                throw ServiceError(
                    .payloadTooLarge, "the request body unpacks to more than \(limit) bytes", details: ["maxBodyBytes": String(limit)])
            } catch {
                throw ServiceError(.invalidRequest, "the request body is not one whole gzip stream (Content-Encoding: gzip)")
            }
        default:
            throw ServiceError(
                .unsupportedEncoding, "a request body may be sent as it is or gzipped (Content-Encoding: gzip), in no other coding",
                details: ["accepted": "gzip"])
        }
    }
}
