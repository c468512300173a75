import CaseSyncProtocol

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

    static func hash(code: String) -> String { SHA256.hex("login-code:" + normalize(code: code)) }

    /// A device token: `cst_` and 32 random bytes in URL-safe base64 without padding.
    static func makeToken(_ random: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var bits = 0
        var value = 0
        var text = "cst_"
        for byte in random.prefix(32) {
            value = (value << 8) | Int(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                text.append(alphabet[(value >> bits) & 63])
            }
        }
        if bits > 0 { text.append(alphabet[(value << (6 - bits)) & 63]) }
        return text
    }

    static func hash(token: String) -> String { SHA256.hex("device-token:" + token) }
}
