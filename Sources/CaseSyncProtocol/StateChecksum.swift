/// The checksum of a set of live records: how many there are and the wrapping sum of one
/// FNV-1a 64-bit hash per record over `type/id/version`. A sum does not depend on order, and can be
/// kept up to date one record at a time (add the new version's hash, subtract the old one's).
public struct StateChecksum: Codable, Sendable, Hashable, CustomStringConvertible {
    public var count: Int64
    /// The sum as 16 lower-case hex digits.
    public var digest: String

    public init(count: Int64, digest: String) {
        self.count = count
        self.digest = digest
    }

    public init(count: Int64, sum: UInt64) {
        self.count = count
        let hex = String(sum, radix: 16)
        self.digest = String(repeating: "0", count: 16 - hex.count) + hex
    }

    public var description: String { "\(count)/\(digest)" }

    /// The hash one live record adds to the sum.
    public static func contribution(type: RecordType, id: String, version: Int64) -> UInt64 {
        var hash = FNV1a64()
        hash.mix(type.rawValue.utf8)
        hash.mix(CollectionOfOne(UInt8(ascii: "/")))
        hash.mix(id.utf8)
        hash.mix(CollectionOfOne(UInt8(ascii: "/")))
        hash.mix(String(version).utf8)
        return hash.value
    }
}

/// A running checksum that records are added to and removed from.
public struct ChecksumAccumulator: Sendable, Hashable {
    public private(set) var count: Int64 = 0
    public private(set) var sum: UInt64 = 0

    public init(count: Int64 = 0, sum: UInt64 = 0) {
        self.count = count
        self.sum = sum
    }

    public mutating func add(type: RecordType, id: String, version: Int64) {
        count += 1
        sum = sum &+ StateChecksum.contribution(type: type, id: id, version: version)
    }

    public mutating func remove(type: RecordType, id: String, version: Int64) {
        count -= 1
        sum = sum &- StateChecksum.contribution(type: type, id: id, version: version)
    }

    public var checksum: StateChecksum { StateChecksum(count: count, sum: sum) }
}

/// The 64-bit FNV-1a hash: fast, stable across platforms, not cryptographic.
public struct FNV1a64: Sendable, Hashable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
    }

    public static func hash<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var hasher = FNV1a64()
        hasher.mix(bytes)
        return hasher.value
    }
}
