#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import HTTPTypes
import Hummingbird

/// The load balancers whose `X-Forwarded-For` the server believes: addresses (`10.0.0.5`, `::1`) and
/// ranges (`10.0.0.0/8`, `fd00::/8`). Behind them every request comes from the balancer's address, so
/// the limits per address (login attempts, open connections) would count a whole city as one device;
/// with them named, those limits count the address the balancer saw. A peer that is not named is
/// never believed: anyone can send the header.
public struct TrustedProxies: Sendable, Hashable {
    struct Range: Sendable, Hashable {
        let bytes: [UInt8]
        let prefixBits: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var bits = prefixBits
            for (mine, theirs) in zip(bytes, address) where bits > 0 {
                let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                guard mine & mask == theirs & mask else { return false }
                bits -= 8
            }
            return true
        }
    }

    let ranges: [Range]

    /// Trusts no one: every request's address is its peer's.
    public static let none = TrustedProxies(ranges: [])

    init(ranges: [Range]) {
        self.ranges = ranges
    }

    /// Reads addresses and ranges as an operator writes them; throws a message naming the first
    /// that is neither.
    public init(_ entries: [String]) throws(TrustedProxyError) {
        var ranges: [Range] = []
        for entry in entries {
            let parts = entry.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let bytes = Self.bytes(of: String(parts[0])) else { throw TrustedProxyError(entry: entry) }
            var prefixBits = bytes.count * 8
            if parts.count == 2 {
                guard parts[1].allSatisfy(\.isASCII), let bits = Int(parts[1]), (0...prefixBits).contains(bits) else {
                    throw TrustedProxyError(entry: entry)
                }
                prefixBits = bits
            }
            ranges.append(Range(bytes: bytes, prefixBits: prefixBits))
        }
        self.ranges = ranges
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Whether `address` (an IP address as text) is one of the trusted proxies.
    public func contains(_ address: String) -> Bool {
        guard !ranges.isEmpty, let bytes = Self.bytes(of: address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// The address a request counts against: its peer's, or, when the peer is a trusted proxy, the
    /// last address of `X-Forwarded-For` that is not a trusted proxy (each proxy appends the address it
    /// saw, so what the client itself wrote further left is never reached; name only the balancers,
    /// never a range that also holds clients). A header that does not hold an address where one is
    /// needed counts the request against the proxy (and `casesync_forwarded_for_unreadable_total`).
    func clientAddress(peer: String?, forwardedFor values: [String]) -> String? {
        guard let peer, contains(peer), !values.isEmpty else { return peer }
        let hops = values.flatMap { $0.split(separator: ",") }.reversed()
        for hop in hops {
            guard let bytes = Self.bytes(of: Self.withoutPort(hop.trimmingCharacters(in: .whitespaces))) else {
                ServerMetrics.unreadableForwardedFor.increment()
                return peer
            }
            guard ranges.contains(where: { $0.contains(bytes) }) else { return Self.text(of: bytes) }
        }
        return peer
    }

    /// A hop as some balancers write it, with its port (`203.0.113.1:4711`, `[2001:db8::1]:4711`), without it.
    static func withoutPort(_ hop: String) -> String {
        if hop.hasPrefix("["), let close = hop.firstIndex(of: "]") {
            return String(hop[hop.index(after: hop.startIndex)..<close])
        }
        let colons = hop.count { $0 == ":" }
        return colons == 1 ? String(hop.prefix { $0 != ":" }) : hop
    }

    /// An address's bytes (4 for IPv4, 16 for IPv6; an IPv4 address written as IPv6, `::ffff:a.b.c.d`,
    /// is read as IPv4), or nil when `text` is not an address.
    static func bytes(of text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 45, text.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes.suffix(4)) }
        return bytes
    }

    /// One spelling for each address, so that a limit's bucket does not depend on how it was written.
    static func text(of bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An entry of `--trusted-proxy` that is neither an address nor a range.
public struct TrustedProxyError: Error, Sendable {
    public let entry: String
    public var message: String {
        "a trusted proxy is an IP address (10.0.0.5, ::1) or a range (10.0.0.0/8), not \"\(entry)\""
    }
}

/// Sets the address a request counts against (see `TrustedProxies.clientAddress`).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = CaseSyncRequestContext
    let trusted: TrustedProxies

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        context.clientAddress = trusted.clientAddress(peer: context.clientAddress, forwardedFor: request.headers[values: Self.forwardedFor])
        return try await next(request, context)
    }
}
