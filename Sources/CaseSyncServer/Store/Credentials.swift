import CaseSyncProtocol
import Crypto

/// Login codes and device tokens: how they are made and how they are stored (hashes only).
enum Credentials {
    /// Letters and digits that cannot be mistaken for one another when typed from paper.
    static let codeAlphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")

    /// A 12-character login code in groups of four, e.g. `K7QM-2XRT-9HBD` (60 bits).
    static func makeLoginCode(_ random: [UInt8]) -> String {
        precondition(random.count >= 12)
        let characters = random.prefix(12).map { codeAlphabet[Int($0) % codeAlphabet.count] }
        return stride(from: 0, to: 12, by: 4).map { String(characters[$0..<$0 + 4]) }.joined(separator: "-")
    }

    /// The form of a code that is hashed: upper case, without dashes or spaces.
    static func normalize(code: String) -> String {
        String(code.uppercased().filter { $0 != "-" && !$0.isWhitespace })
    }

    static func hash(code: String) -> String { sha256Hex("login-code:" + normalize(code: code)) }

    /// A device token: `cst_` and 32 random bytes in URL-safe base64 without padding.
    static func makeToken(_ random: [UInt8]) -> String {
        "cst_" + encode(random.prefix(32), alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    }

    static func hash(token: String) -> String { sha256Hex("device-token:" + token) }

    /// SHA-256 of the text's UTF-8, in lower-case hex (how codes and tokens are stored).
    static func sha256Hex(_ text: String) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(text.utf8)) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A device's client id: 16 characters of lower-case base32 from 10 random bytes (80 bits), e.g.
    /// `k3vq7m2xrt6hbd4a`. It names the device in every clock reading it makes, so it is short; it is
    /// not a secret (the token is).
    static func makeClientId(_ random: [UInt8]) -> String {
        precondition(random.count >= 10)
        return encode(random.prefix(10), alphabet: Array("abcdefghijklmnopqrstuvwxyz234567"))
    }

    /// Bytes as text in an alphabet of 32 or 64 characters (base32 or base64, without padding).
    private static func encode(_ bytes: some Collection<UInt8>, alphabet: [Character]) -> String {
        let width = alphabet.count == 64 ? 6 : 5
        let mask = alphabet.count - 1
        var bits = 0
        var value = 0
        var text = ""
        for byte in bytes {
            value = ((value << 8) | Int(byte)) & 0xFFFF
            bits += 8
            while bits >= width {
                bits -= width
                text.append(alphabet[(value >> bits) & mask])
            }
        }
        if bits > 0 { text.append(alphabet[(value << (width - bits)) & mask]) }
        return text
    }
}
