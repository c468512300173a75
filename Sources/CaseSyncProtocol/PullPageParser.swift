import Foundation

/// A pull answer with each record's JSON kept as bytes: what a client stores without decoding it.
public struct RawPullResponse: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var seq: Int64
        public var type: RecordType
        public var id: String
        public var caseId: String
        public var version: Int64
        public var deleted: Bool
        /// The record's JSON; nil for a tombstone.
        public var data: Data?

        public init(seq: Int64, type: RecordType, id: String, caseId: String, version: Int64, deleted: Bool, data: Data?) {
            self.seq = seq
            self.type = type
            self.id = id
            self.caseId = caseId
            self.version = version
            self.deleted = deleted
            self.data = data
        }
    }

    public var changes: [Change]
    public var cursor: String
    public var hasMore: Bool
    public var checksum: StateChecksum?

    public init(changes: [Change], cursor: String, hasMore: Bool, checksum: StateChecksum?) {
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.checksum = checksum
    }

    /// The same page from typed values.
    public init(_ response: PullResponse) {
        self.init(
            changes: response.changes.map {
                Change(
                    seq: $0.seq, type: $0.type, id: $0.id, caseId: $0.caseId, version: $0.version, deleted: $0.deleted,
                    data: $0.data.map { Data($0.jsonBytes) })
            },
            cursor: response.cursor, hasMore: response.hasMore, checksum: response.checksum)
    }

    /// Reads a pull answer without decoding the records (unknown properties are skipped).
    public init(json: some Collection<UInt8>) throws {
        var parser = PullPageParser(Array(json))
        self = try parser.page()
    }
}

/// Why a pull answer could not be read.
public struct PullPageParseError: Error, CustomStringConvertible {
    public var description: String
}

/// A minimal JSON reader for pull answers: walks the envelope, and for each change's `data` only
/// finds where the value starts and ends.
struct PullPageParser {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func page() throws -> RawPullResponse {
        var changes: [RawPullResponse.Change] = []
        var cursor: String?
        var hasMore: Bool?
        var checksum: StateChecksum?
        try object { parser, key in
            switch key {
            case "changes":
                try parser.array { parser in changes.append(try parser.change()) }
            case "cursor": cursor = try parser.string()
            case "hasMore": hasMore = try parser.bool()
            case "checksum":
                if try parser.null() { break }
                var count: Int64?
                var digest: String?
                try parser.object { parser, key in
                    switch key {
                    case "count": count = try parser.integer()
                    case "digest": digest = try parser.string()
                    default: try parser.skipValue()
                    }
                }
                guard let count, let digest else { throw parser.fail("checksum needs count and digest") }
                checksum = StateChecksum(count: count, digest: digest)
            default: try parser.skipValue()
            }
        }
        guard let cursor, let hasMore else { throw fail("a pull answer needs cursor and hasMore") }
        return RawPullResponse(changes: changes, cursor: cursor, hasMore: hasMore, checksum: checksum)
    }

    mutating func change() throws -> RawPullResponse.Change {
        var seq: Int64?, type: RecordType?, id: String?, caseId: String?, version: Int64?, deleted: Bool?
        var data: Data?
        try object { parser, key in
            switch key {
            case "seq": seq = try parser.integer()
            case "type":
                let name = try parser.string()
                guard let known = RecordType(rawValue: name) else { throw parser.fail("unknown record type \(name)") }
                type = known
            case "id": id = try parser.string()
            case "caseId": caseId = try parser.string()
            case "version": version = try parser.integer()
            case "deleted": deleted = try parser.bool()
            case "data":
                if try parser.null() { break }
                parser.skipSpace()
                let start = parser.index
                try parser.skipValue()
                data = Data(parser.bytes[start..<parser.index])
            default: try parser.skipValue()
            }
        }
        guard let seq, let type, let id, let caseId, let version, let deleted else {
            throw fail("a change needs seq, type, id, caseId, version and deleted")
        }
        return RawPullResponse.Change(seq: seq, type: type, id: id, caseId: caseId, version: version, deleted: deleted, data: data)
    }

    // MARK: Tokens

    func fail(_ reason: String) -> PullPageParseError { PullPageParseError(description: "\(reason) (at byte \(index))") }

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

    mutating func object(_ member: (inout PullPageParser, String) throws -> Void) throws {
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

    mutating func array(_ element: (inout PullPageParser) throws -> Void) throws {
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
