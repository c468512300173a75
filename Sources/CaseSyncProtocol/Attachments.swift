/// A file attached to a case: evidence a citizen sends, a document an officer sends back. The file
/// itself is a blob named by its SHA-256 and moves outside the JSON pages (`PUT /uploads/{sha256}`,
/// `GET /cases/{caseId}/blobs/{sha256}`); the record says which case holds it, under what name, and
/// what the server found it to be. Written by the server when an `attach` mutation applies; append-only.
public struct AttachmentRecord: Codable, Sendable, Hashable {
    public var id: String
    public var caseId: String
    /// The file's SHA-256, 64 lower-case hex digits.
    public var sha256: String
    /// The name the sender gave it (a file name, never a path).
    public var name: String
    /// Bytes, and the type the server found by its content.
    public var size: Int64
    public var contentType: String
    public var addedByRole: ActorRole
    public var addedByName: String
    public var addedAt: Timestamp

    public init(
        id: String, caseId: String, sha256: String, name: String, size: Int64, contentType: String,
        addedByRole: ActorRole, addedByName: String, addedAt: Timestamp
    ) {
        self.id = id
        self.caseId = caseId
        self.sha256 = sha256
        self.name = name
        self.size = size
        self.contentType = contentType
        self.addedByRole = addedByRole
        self.addedByName = addedByName
        self.addedAt = addedAt
    }
}

/// What an `attach` mutation names: the new record's id (one the device created), the blob this
/// account uploaded, and the file's name.
public struct NewAttachment: Codable, Sendable, Hashable {
    public var id: String
    public var sha256: String
    public var name: String

    public init(id: String, sha256: String, name: String) {
        self.id = id
        self.sha256 = sha256
        self.name = name
    }
}

/// Where an upload of a blob by this account stands (`GET /uploads/{sha256}`, and the answer of
/// every `PUT`): `received` bytes of `size` are kept; `complete` once all arrived and matched the hash.
public struct UploadState: Codable, Sendable, Hashable {
    public var sha256: String
    public var size: Int64
    public var received: Int64
    public var complete: Bool
    /// The type found by the content; set once the upload is complete.
    public var contentType: String?

    public init(sha256: String, size: Int64, received: Int64, complete: Bool, contentType: String? = nil) {
        self.sha256 = sha256
        self.size = size
        self.received = received
        self.complete = complete
        self.contentType = contentType
    }
}

/// The names and types of files.
public enum AttachmentRules {
    /// Whether `text` is a SHA-256 as the protocol writes it: 64 lower-case hex digits.
    public static func isDigest(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// Why a file name cannot be an attachment's, or nil: 1 to 200 bytes, no control characters, no
    /// path separators, not `.` or `..`.
    public static func nameProblem(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 200 else { return "a file name is 1 to 200 bytes" }
        guard name != ".", name != "..", !name.unicodeScalars.contains(where: { $0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F })
        else { return "a file name has no slashes or control characters and is not . or .." }
        guard name.first?.isWhitespace == false, name.last?.isWhitespace == false else {
            return "a file name does not begin or end with a space"
        }
        return nil
    }

    /// Bytes of a file's start that `sniff` needs.
    public static let sniffLength = 16

    /// The type of a file by its first bytes (never its name): JPEG, PNG, PDF or HEIC/HEIF; nil for
    /// anything else.
    public static func sniff(_ head: some Collection<UInt8>) -> String? {
        let bytes = Array(head.prefix(sniffLength))
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + magic.count && Array(bytes[offset..<offset + magic.count]) == magic
        }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts(Array("%PDF-".utf8)) { return "application/pdf" }
        // ISO base media: a box size, then `ftyp` and the major brand.
        if starts(Array("ftyp".utf8), at: 4), bytes.count >= 12 {
            let brand = String(decoding: bytes[8..<12], as: UTF8.self)
            if ["heic", "heix", "hevc", "heim", "heis"].contains(brand) { return "image/heic" }
            if ["mif1", "msf1"].contains(brand) { return "image/heif" }
        }
        return nil
    }

    /// The types a server takes unless its operator says otherwise.
    public static let defaultTypes = ["application/pdf", "image/heic", "image/heif", "image/jpeg", "image/png"]
}
