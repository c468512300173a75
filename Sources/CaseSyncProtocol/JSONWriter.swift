/// A small, fast JSON writer for the records on the sync path (storage bodies, pull pages, outcomes).
/// Foundation's JSONEncoder goes through `Encodable` existentials and costs tens of microseconds per
/// record; this writes bytes directly. Every type it writes also decodes with `JSONDecoder`, and tests
/// hold the two to the same JSON.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// Writes `"key":` (the value follows).
    public mutating func key(_ key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    /// Writes `"key":` for a key known only at run time.
    public mutating func key(_ key: String) {
        separate()
        needsComma = false
        string(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        Self.appendEscaped(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Appends a string's characters as JSON string content: quotes, backslashes and control
    /// characters escaped. Everything that came from outside is written through here.
    static func appendEscaped(_ value: String, to bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
                case 0x0A: bytes.append(contentsOf: [92, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [92, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [92, UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
                }
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<utf8.count]))
        }
    }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func int(_ value: Int64) {
        separate()
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            bytes.appendDigits(value.magnitude, width: 1)
        } else {
            bytes.appendDigits(UInt64(value), width: 1)
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { literal("true") } else { literal("false") }
        needsComma = true
    }

    public mutating func null() {
        separate()
        literal("null")
        needsComma = true
    }

    /// A time as its protocol string, `"2026-03-02T09:00:00.000Z"`, written without making a String.
    public mutating func timestamp(_ value: Timestamp) { quoted { value.appendISO8601(to: &$0) } }

    /// A clock reading as its protocol string, written without making a String (the node escaped).
    public mutating func hlc(_ value: HLCTimestamp) {
        quoted {
            value.appendPrefix(to: &$0)
            Self.appendEscaped(value.node, to: &$0)
        }
    }

    /// A string whose characters `body` appends; only digits and punctuation written here, and
    /// anything else through `appendEscaped`.
    private mutating func quoted(_ body: (inout [UInt8]) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        body(&bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    private mutating func literal(_ word: StaticString) {
        word.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Writes JSON that is already encoded (a stored record body).
    public mutating func raw<C: Collection>(_ json: C) where C.Element == UInt8 {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    /// A string-to-string object, keys in sorted order.
    public mutating func stringMap(_ map: [String: String]) {
        beginObject()
        for key in map.keys.sorted() {
            self.key(key)
            string(map[key]!)
        }
        endObject()
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}

/// A type the fast writer can write; its JSON equals what its `Encodable` conformance produces.
public protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension JSONWritable {
    /// The value as JSON bytes.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }
}

extension [UInt8] {
    /// Appends the decimal digits of `value`, zero-padded to at least `width` digits.
    mutating func appendDigits(_ value: UInt64, width: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        Swift.withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            while count < width && count < 20 {
                buffer[19 - count] = UInt8(ascii: "0")
                count += 1
            }
            append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// Appends `value` in lower-case hexadecimal, zero-padded to `width` digits.
    mutating func appendHex(_ value: UInt16, width: Int) {
        let hex: StaticString = "0123456789abcdef"
        for shift in stride(from: (width - 1) * 4, through: 0, by: -4) {
            append(hex.utf8Start[Int((value >> UInt16(shift)) & 15)])
        }
    }
}
