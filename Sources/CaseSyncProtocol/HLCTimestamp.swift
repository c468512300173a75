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

    /// Appends the wire form (what `description` returns).
    func append(to bytes: inout [UInt8]) {
        bytes.appendDigits(UInt64(max(0, millis)), width: 13)
        bytes.append(UInt8(ascii: "-"))
        bytes.appendHex(counter, width: 4)
        bytes.append(UInt8(ascii: "-"))
        bytes.append(contentsOf: node.utf8)
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 13, parts[1].count == 4,
              let millis = Int64(parts[0]), millis >= 0,
              let counter = UInt16(parts[1], radix: 16) else { return nil }
        self.init(millis: millis, counter: counter, node: String(parts[2]))
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
