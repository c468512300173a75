import CZlib
import Foundation
import Hummingbird

/// gzip for answers that are worth it (RFC 9110 §8.4): a pull page of 1,000 cases is 1.2 MB as JSON and
/// about a tenth of it compressed. Sent only to a client that says it accepts gzip (URLSession does, on
/// Apple platforms and on Linux alike, and unpacks it itself); small answers go as they are.
enum ResponseCompression {
    /// Answers smaller than this go uncompressed (the header and the work would cost more than they save).
    static let minimumBytes = 1_024
    /// zlib's level: 1 is the fastest, with most of the gain on JSON this repetitive.
    static let level: Int32 = 1

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

    /// `bytes` in gzip's format; nil if zlib fails (the answer then goes uncompressed).
    static func gzip(_ bytes: [UInt8]) -> [UInt8]? {
        // zlib keeps the stream's address and checks it on every call: it lives at one place, on the heap.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return nil }
        defer { deflateEnd(stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(bytes.count))))
        let status = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.pointee.avail_in = uInt(input.count)
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = uInt(out.count)
                return deflate(stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeLast(output.count - Int(stream.pointee.total_out))
        return output
    }

    /// A JSON answer, compressed when the request accepts it and it is large enough.
    static func json(_ bytes: [UInt8], for request: Request) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .vary: "Accept-Encoding"]
        guard bytes.count >= minimumBytes, acceptsGzip(request), let packed = gzip(bytes) else {
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        headers[.contentEncoding] = "gzip"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: packed)))
    }
}
