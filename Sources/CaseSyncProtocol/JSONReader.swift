import Foundation

/// Why JSON could not be read.
public struct JSONReadError: Error, CustomStringConvertible {
    public var description: String
}

/// A minimal, fast JSON reader for the sync path's bodies: it walks objects and arrays and reads
/// strings, numbers and booleans, without building an intermediate tree. Readers for particular
/// messages are built on it (pull answers, push requests and answers).
struct JSONReader {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    // MARK: Tokens

    func fail(_ reason: String) -> JSONReadError { JSONReadError(description: "\(reason) (at byte \(index))") }

    mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    mutating func expect(_ byte: UInt8) throws {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { throw fail("expected \(Character(UnicodeScalar(byte)))") }
        index += 1
    }

    mutating func peek() -> UInt8? {
        skipSpace()
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func object(_ member: (inout JSONReader, String) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            let key = try string()
            try expect(UInt8(ascii: ":"))
            try member(&self, key)
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    mutating func array(_ element: (inout JSONReader) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") { index += 1; return }
        while true {
            try element(&self)
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "]"))
            return
        }
    }

    mutating func null() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    mutating func bool() throws -> Bool {
        if peek() == UInt8(ascii: "t") { try literal("true"); return true }
        try literal("false")
        return false
    }

    mutating func literal(_ word: StaticString) throws {
        skipSpace()
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
              word.withUTF8Buffer({ Array($0) }) == Array(bytes[index..<index + count]) else { throw fail("expected \(word)") }
        index += count
    }

    mutating func integer() throws -> Int64 {
        skipSpace()
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        guard let value = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw fail("expected a whole number") }
        return value
    }

    mutating func string() throws -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        var escaped = false
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            if bytes[index] == UInt8(ascii: "\\") { escaped = true; index += 1 }
            index += 1
        }
        guard index < bytes.count else { throw fail("unterminated string") }
        let slice = bytes[start..<index]
        index += 1
        guard escaped else { return String(decoding: slice, as: UTF8.self) }
        // Rare: let Foundation undo the escapes of this one string.
        let quoted = [UInt8(ascii: "\"")] + slice + [UInt8(ascii: "\"")]
        guard let text = try? JSONDecoder().decode(String.self, from: Data(quoted)) else { throw fail("bad escape in a string") }
        return text
    }

    mutating func skipValue() throws {
        switch peek() {
        case UInt8(ascii: "{"):
            try object { parser, _ in try parser.skipValue() }
        case UInt8(ascii: "["):
            try array { parser in try parser.skipValue() }
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            _ = try bool()
        case UInt8(ascii: "n"):
            try literal("null")
        case .some:
            let start = index
            while index < bytes.count, "+-.eE0123456789".utf8.contains(bytes[index]) { index += 1 }
            if index == start { throw fail("unexpected character") }
        case nil:
            throw fail("unexpected end")
        }
    }
}
