/// A name from a vocabulary that grows within a protocol version (§3 "Evolution"): record types, case
/// kinds, timeline event types. A device reads any name of the wire form (lower-case letters, digits,
/// `-` and `_`, at most 64 bytes) as a value, whether or not it knows it, so a server that speaks a
/// newer minor schema never makes an older device fail its pull; what it does not know it keeps and
/// leaves alone. Where a device *asks* for something (a push), only `known` names are accepted.
public protocol OpenName: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible
where RawValue == String {
    /// The names this build knows, in the order they are documented.
    static var known: [Self] { get }
    /// A name already known to have the wire form.
    init(unchecked name: String)
}

extension OpenName {
    /// Any name of the wire form; nil for anything else.
    public init?(rawValue: String) {
        guard WireForm.isToken(rawValue) else { return nil }
        self.init(unchecked: rawValue)
    }

    /// Whether this build knows the name (and so what it means).
    public var isKnown: Bool { Self.known.contains(self) }

    public var description: String { rawValue }

    /// The known names, as a message lists them.
    public static var knownList: String { known.map(\.rawValue).joined(separator: ", ") }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let value = Self(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "should be a name of lower-case letters, digits, - and _")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

extension JSONReader {
    /// A name of `type`'s vocabulary, known to this build or not (records a server wrote).
    mutating func name<T: OpenName>(_ type: T.Type) throws -> T {
        guard let value = T(rawValue: try string()) else {
            throw fail("should be a name of lower-case letters, digits, - and _")
        }
        return value
    }

    /// A name of `type`'s vocabulary that this build knows (what a device asks for).
    mutating func knownName<T: OpenName>(_ type: T.Type) throws -> T {
        let text = try string()
        guard let value = T(rawValue: text), value.isKnown else { throw fail("should be one of \(T.knownList)") }
        return value
    }
}
