/// A hybrid logical clock reading: wall-clock milliseconds, a counter for events within the same
/// millisecond, and the node (client id) that made it, so that two readings are never equal.
///
/// On the wire it is the string `"<millis, 13 digits>-<counter, 4 hex>-<node>"`, which sorts the
/// same as the reading itself.
public struct HLCTimestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var millis: Int64
    public var counter: UInt16
    public var node: String

    public init(millis: Int64, counter: UInt16, node: String) {
        self.millis = millis
        self.counter = counter
        self.node = node
    }

    /// The lowest reading, older than any real one.
    public static let zero = HLCTimestamp(millis: 0, counter: 0, node: "")

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool {
        (lhs.millis, lhs.counter, lhs.node) < (rhs.millis, rhs.counter, rhs.node)
    }

    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(19 + node.utf8.count)
        append(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the wire form (what `description` returns), the node as it is (unescaped).
    func append(to bytes: inout [UInt8]) {
        appendPrefix(to: &bytes)
        bytes.append(contentsOf: node.utf8)
    }

    /// Appends the part before the node: `<millis>-<counter>-`.
    func appendPrefix(to bytes: inout [UInt8]) {
        bytes.appendDigits(UInt64(min(max(0, millis), Self.maxMillis)), width: 13)
        bytes.append(UInt8(ascii: "-"))
        bytes.appendHex(counter, width: 4)
        bytes.append(UInt8(ascii: "-"))
    }

    /// The largest reading the wire form can carry (13 digits of milliseconds: the year 2286).
    public static let maxMillis: Int64 = 9_999_999_999_999

    /// Parses the wire form strictly: 13 decimal digits, `-`, 4 lower-case hex digits, `-`, the node
    /// (1 to 64 lower-case letters, digits, `-` or `_`).
    public init?(_ text: String) {
        var text = text
        guard let parsed = text.withUTF8({ bytes -> (Int64, UInt16)? in
            guard bytes.count >= 20, bytes.count <= 19 + 64, bytes[13] == UInt8(ascii: "-"), bytes[18] == UInt8(ascii: "-")
            else { return nil }
            var millis: Int64 = 0
            for index in 0..<13 {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                millis = millis * 10 + Int64(digit)
            }
            var counter: UInt16 = 0
            for index in 14..<18 {
                let byte = bytes[index]
                let value: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
                default: return nil
                }
                counter = counter << 4 | UInt16(value)
            }
            for index in 19..<bytes.count where !WireForm.isTokenByte(bytes[index]) { return nil }
            return (millis, counter)
        }) else { return nil }
        let node = text.utf8.dropFirst(19)
        self.init(millis: parsed.0, counter: parsed.1, node: String(Substring(node)))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = HLCTimestamp(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a clock reading like 1772443800000-0000-<client id>")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
