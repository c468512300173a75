/// Why JSON could not be read: where (a path such as `mutations[0].hlc`) and what was wrong. Never
/// holds the value itself, so it may be logged.
public struct JSONReadError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The bytes are not JSON (or JSON the protocol never accepts: duplicate keys, raw control
        /// characters, invalid UTF-8, nesting deeper than the limit, trailing bytes).
        case syntax
        /// Valid JSON that does not fit the message: a missing or mistyped property, a bad value.
        case schema
    }

    public var kind: Kind
    /// The reason, without the path.
    public var reason: String
    /// The byte offset where reading stopped (syntax errors).
    public var offset: Int
    /// The property path, outermost first (`mutations`, `[0]`, `hlc`).
    public var path: [String] = []

    public init(kind: Kind, reason: String, offset: Int) {
        self.kind = kind
        self.reason = reason
        self.offset = offset
    }

    /// `mutations[0].hlc`, or empty for the whole body.
    public var pathText: String {
        var text = ""
        for component in path {
            if component.hasPrefix("[") { text += component } else { text += (text.isEmpty ? "" : ".") + component }
        }
        return text
    }

    public var description: String {
        switch kind {
        case .syntax: "the body is not valid JSON: \(reason) (at byte \(offset))"
        case .schema: pathText.isEmpty ? reason : "\(pathText) \(reason)"
        }
    }
}

/// The one strict JSON reader for everything that comes from the other side, on the server and in
/// the client alike. It walks objects and arrays without building a tree and reads strings, numbers
/// and booleans; readers for particular messages are built on it (pushes, pull pages, outcomes), and
/// `validate` checks any body before Foundation's decoder sees it.
///
/// It accepts RFC 8259 JSON and less: nesting at most `maxDepth` deep (recursion is bounded by it),
/// no bytes after the value, no key twice in one object, valid UTF-8 and no raw control characters
/// in strings, no lone surrogate escapes, integers that fit 64 bits.
struct JSONReader {
    /// How deep objects and arrays may nest. The protocol's messages need six levels; the rest is room
    /// for properties a later version adds.
    static let maxDepth = 32

    let bytes: [UInt8]
    var index = 0
    private var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Reads one whole message: `body` reads the value, then only white space may follow.
    static func read<T>(_ bytes: [UInt8], _ body: (inout JSONReader) throws -> T) throws -> T {
        var reader = JSONReader(bytes)
        let value = try body(&reader)
        reader.skipSpace()
        guard reader.index == bytes.count else { throw reader.syntax("unexpected bytes after the JSON value") }
        return value
    }

    /// Checks that `bytes` are one strict JSON value (see the type's rules).
    static func validate(_ bytes: [UInt8]) throws {
        try read(bytes) { try $0.skipValue() }
    }

    // MARK: Errors

    func syntax(_ reason: String) -> JSONReadError { JSONReadError(kind: .syntax, reason: reason, offset: index) }

    /// A value that is valid JSON but not what the message needs here.
    func fail(_ reason: String) -> JSONReadError { JSONReadError(kind: .schema, reason: reason, offset: index) }

    /// Runs `body`, adding `component` to the path of an error it throws.
    private static func within<T>(_ component: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        do {
            return try body()
        } catch var error as JSONReadError {
            error.path.insert(component(), at: 0)
            throw error
        }
    }

    // MARK: Structure

    mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard index < bytes.count else { throw syntax("unexpected end, expected \(Character(UnicodeScalar(byte)))") }
        guard bytes[index] == byte else { throw syntax("expected \(Character(UnicodeScalar(byte)))") }
        index += 1
    }

    mutating func peek() -> UInt8? {
        skipSpace()
        return index < bytes.count ? bytes[index] : nil
    }

    /// Steps into the object or array that must start here, one level deeper (the caller steps out).
    private mutating func open(_ bracket: UInt8, _ name: String) throws {
        guard peek() == bracket else {
            if index < bytes.count, isValueStart(bytes[index]) { throw fail("should be \(name)") }
            let expected = Character(UnicodeScalar(bracket))
            throw syntax(index < bytes.count ? "expected \(expected)" : "unexpected end, expected \(expected)")
        }
        index += 1
        depth += 1
        guard depth <= Self.maxDepth else { throw syntax("nested deeper than \(Self.maxDepth) levels") }
    }

    /// A key as it may stand in an error's path: the protocol's own property and field names as they
    /// are, anything else (which came from outside and may be long or personal) as `<key>`.
    static func pathComponent(_ key: String) -> String {
        WireForm.isFieldName(key) ? key : "<key>"
    }

    /// Reads an object, calling `member` for each key with the reader at its value. A key that comes
    /// twice is refused.
    mutating func object(_ member: (inout JSONReader, String) throws -> Void) throws {
        try open(UInt8(ascii: "{"), "an object")
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "}") { index += 1; return }
        var seen = KeySet()
        while true {
            guard peek() == UInt8(ascii: "\"") else { throw syntax("expected a property name") }
            let key = try rawString()
            guard seen.insert(key) else { throw syntax("the property \(Self.printable(key)) appears twice") }
            try expect(UInt8(ascii: ":"))
            try Self.within(Self.pathComponent(key)) { try member(&self, key) }
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Reads an array, calling `element` with the reader at each element.
    mutating func array(_ element: (inout JSONReader) throws -> Void) throws {
        try open(UInt8(ascii: "["), "an array")
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "]") { index += 1; return }
        var position = 0
        while true {
            try Self.within("[\(position)]") { try element(&self) }
            position += 1
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "]"))
            return
        }
    }

    private func isValueStart(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "t"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: false
        }
    }

    /// A key for a message: at most 40 printable ASCII characters, for naming it in an error.
    static func printable(_ key: String) -> String {
        let shown = key.unicodeScalars.prefix(40).map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" ? Character($0) : "?" }
        return "\"" + String(shown) + (key.unicodeScalars.count > 40 ? "…" : "") + "\""
    }

    // MARK: Scalars

    mutating func null() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    mutating func bool() throws -> Bool {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        case .some(let byte) where isValueStart(byte): throw fail("should be true or false")
        default: throw syntax("expected true or false")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        skipSpace()
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
              word.withUTF8Buffer({ word in (0..<count).allSatisfy { word[$0] == bytes[index + $0] } })
        else { throw syntax("expected \(word)") }
        index += count
    }

    /// A whole number that fits 64 bits, in JSON's grammar (no leading zeros, no fraction or exponent).
    mutating func integer() throws -> Int64 {
        skipSpace()
        let start = index
        guard index < bytes.count else { throw syntax("unexpected end, expected a number") }
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < bytes.count, let first = digit(bytes[index]) else {
            if !negative, index < bytes.count, isValueStart(bytes[index]) { throw fail("should be a whole number") }
            throw syntax("expected a number")
        }
        index += 1
        // Accumulate negatively so that Int64.min reads too.
        var value = -Int64(first)
        var overflow = false
        if first != 0 {
            while index < bytes.count, let next = digit(bytes[index]) {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.subtractingReportingOverflow(Int64(next))
                overflow = overflow || o1 || o2
                value = sum
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") || digit(bytes[index]) != nil {
            index = start
            try skipNumber()
            throw fail("should be a whole number")
        }
        if negative { return overflow ? try overflowed() : value }
        guard !overflow, value != .min else { return try overflowed() }
        return -value
    }

    private func overflowed() throws -> Int64 { throw fail("is too large (at most \(Int64.max))") }

    private func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// Skips a number in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func skipNumber() throws {
        let start = index
        var plainInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, let first = digit(bytes[index]) else { throw syntax("expected a number") }
        index += 1
        if first != 0 { while index < bytes.count, digit(bytes[index]) != nil { index += 1 } }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            plainInteger = false
            index += 1
            guard index < bytes.count, digit(bytes[index]) != nil else { throw syntax("expected a digit after .") }
            while index < bytes.count, digit(bytes[index]) != nil { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            plainInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, digit(bytes[index]) != nil else { throw syntax("expected a digit in the exponent") }
            while index < bytes.count, digit(bytes[index]) != nil { index += 1 }
        }
        if index < bytes.count, digit(bytes[index]) != nil { throw syntax("a number has a leading zero") }
        // A number no double can hold (2e666, or hundreds of digits) is refused, as Foundation refuses it;
        // short integers, the protocol's only numbers, need no check.
        if !plainInteger || index - start > 18 {
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard let value = Double(text), value.isFinite else { throw syntax("a number is too large") }
        }
    }

    /// A string value.
    mutating func string() throws -> String {
        guard peek() == UInt8(ascii: "\"") else {
            if index < bytes.count, isValueStart(bytes[index]) { throw fail("should be a string") }
            throw syntax(index < bytes.count ? "expected a string" : "unexpected end, expected a string")
        }
        return try rawString()
    }

    /// Reads the string at `index` (which is at its opening quote).
    private mutating func rawString() throws -> String {
        index += 1
        let start = index
        var plain = true // no escapes and ASCII only: the common case, copied as it is
        while true {
            guard index < bytes.count else { throw syntax("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw syntax("a raw control character in a string (escape it)") }
            if byte == UInt8(ascii: "\\") {
                plain = false
                index += 2
                continue
            }
            if byte >= 0x80 { plain = false }
            index += 1
        }
        let end = index
        index += 1
        if plain { return String(decoding: bytes[start..<end], as: UTF8.self) }
        return try decodeString(start..<end)
    }

    /// Undoes escapes and checks UTF-8 for a string's content between its quotes.
    private func decodeString(_ range: Range<Int>) throws -> String {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(range.count)
        var position = range.lowerBound
        func bad(_ reason: String) -> JSONReadError { JSONReadError(kind: .syntax, reason: reason, offset: position) }
        func hex4(_ at: Int) throws -> UInt16 {
            guard at + 4 <= range.upperBound else { throw bad("a \\u escape needs four hex digits") }
            var value: UInt16 = 0
            for byte in bytes[at..<at + 4] {
                let lower = byte | 0x20
                let nibble: UInt8
                switch lower {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = lower - UInt8(ascii: "a") + 10
                default: throw bad("a \\u escape needs four hex digits")
                }
                value = value << 4 | UInt16(nibble)
            }
            return value
        }
        while position < range.upperBound {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                position += 1
                continue
            }
            guard position + 1 < range.upperBound else { throw bad("a string ends inside an escape") }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "\""): utf8.append(0x22)
            case UInt8(ascii: "\\"): utf8.append(0x5C)
            case UInt8(ascii: "/"): utf8.append(0x2F)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                let unit = try hex4(position)
                position += 4
                var scalar: UInt32
                switch unit {
                case 0xD800...0xDBFF:
                    guard position + 2 <= range.upperBound, bytes[position] == UInt8(ascii: "\\"),
                          bytes[position + 1] == UInt8(ascii: "u") else { throw bad("a lone surrogate in a \\u escape") }
                    let low = try hex4(position + 2)
                    guard (0xDC00...0xDFFF).contains(low) else { throw bad("a lone surrogate in a \\u escape") }
                    position += 6
                    scalar = 0x10000 + (UInt32(unit - 0xD800) << 10) + UInt32(low - 0xDC00)
                case 0xDC00...0xDFFF: throw bad("a lone surrogate in a \\u escape")
                default: scalar = UInt32(unit)
                }
                utf8.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default: throw bad("an unknown escape \\\(Character(UnicodeScalar(escape)))")
            }
        }
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JSONReadError(kind: .syntax, reason: "a string is not valid UTF-8", offset: range.lowerBound)
        }
        return text
    }

    /// Skips any value, checking it as strictly as the rest (depth, strings, numbers, keys).
    mutating func skipValue() throws {
        guard let byte = peek() else { throw syntax("unexpected end") }
        switch byte {
        case UInt8(ascii: "{"): try object { reader, _ in try reader.skipValue() }
        case UInt8(ascii: "["): try array { reader in try reader.skipValue() }
        case UInt8(ascii: "\""): _ = try rawString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw syntax("unexpected character")
        }
    }
}

/// The keys of one object so far: a list while small, a set once large (so a huge object costs
/// linear time, not quadratic).
private struct KeySet {
    private var small: [String] = []
    private var large: Set<String>?

    /// Adds `key`; false when it was there already.
    mutating func insert(_ key: String) -> Bool {
        if large != nil { return large!.insert(key).inserted }
        if small.contains(key) { return false }
        small.append(key)
        if small.count > 16 { large = Set(small); small = [] }
        return true
    }
}
