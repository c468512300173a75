import CZlib

/// gzip (RFC 1952) for bodies on the wire, both ways: pull pages to a device, large pushes to the
/// server (PROTOCOL.md §2, "Compression"). Unpacking is bounded: what comes from the other side may be
/// made to inflate a thousandfold.
public enum Gzip {
    public enum Failure: Error, Sendable, Hashable {
        /// Not one whole gzip member (truncated, corrupt, or bytes after it).
        case corrupt
        /// It unpacks to more than the limit given.
        case tooLarge
    }

    /// `bytes` in gzip's format at zlib `level` (1: fastest, with most of the gain on JSON); nil if zlib fails.
    public static func compress(_ bytes: [UInt8], level: Int32 = 1) -> [UInt8]? {
        withStream { stream in
            guard deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
                == Z_OK
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
    }

    /// The bytes one gzip member unpacks to, refused past `limit` bytes (checked as it unpacks, so a bomb
    /// costs at most `limit` bytes of memory).
    public static func decompress(_ bytes: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        let result: Result<[UInt8], Failure> = withStream { stream in
            // 15 + 16: a gzip header and trailer, nothing else.
            guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                return .failure(.corrupt)
            }
            defer { inflateEnd(stream) }
            var output: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            return bytes.withUnsafeBufferPointer { input in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.pointee.avail_in = uInt(input.count)
                while true {
                    let (status, produced) = chunk.withUnsafeMutableBufferPointer { out in
                        stream.pointee.next_out = out.baseAddress
                        stream.pointee.avail_out = uInt(out.count)
                        let status = inflate(stream, Z_NO_FLUSH)
                        return (status, out.count - Int(stream.pointee.avail_out))
                    }
                    guard output.count + produced <= limit else { return .failure(.tooLarge) }
                    output += chunk[0..<produced]
                    switch status {
                    case Z_STREAM_END:
                        return stream.pointee.avail_in == 0 ? .success(output) : .failure(.corrupt)
                    case Z_OK where produced > 0 || stream.pointee.avail_in > 0:
                        continue
                    default:
                        // Z_BUF_ERROR with nothing left to read: the member was cut short.
                        return .failure(.corrupt)
                    }
                }
            }
        }
        return try result.get()
    }

    /// zlib keeps its stream's address and checks it on every call: it lives at one place, on the heap.
    private static func withStream<T>(_ body: (UnsafeMutablePointer<z_stream>) -> T) -> T {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        return body(stream)
    }
}
