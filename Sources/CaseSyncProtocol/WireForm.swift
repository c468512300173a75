/// The documented forms of the protocol's identifiers and values, checked where they come in.
public enum WireForm {
    /// A lower-case UUID, `5f0c1e2a-0000-4000-8000-00000000c001`: case, message and conflict ids.
    public static func isUUID(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard utf8.count == 36 else { return false }
        for (offset, byte) in utf8.enumerated() {
            switch offset {
            case 8, 13, 18, 23: guard byte == UInt8(ascii: "-") else { return false }
            default: guard isLowerHex(byte) else { return false }
            }
        }
        return true
    }

    /// A name of at most `maxLength` bytes made of lower-case letters, digits, `-` and `_`: a clock
    /// reading's node (a client id) and an authority id.
    public static func isToken(_ text: String, maxLength: Int = 64) -> Bool {
        let utf8 = text.utf8
        return !utf8.isEmpty && utf8.count <= maxLength && utf8.allSatisfy(isTokenByte)
    }

    /// A case field's name: 1 to 64 ASCII letters and digits.
    public static func isFieldName(_ text: String) -> Bool {
        let utf8 = text.utf8
        return !utf8.isEmpty && utf8.count <= 64
            && utf8.allSatisfy { isLowerAlphanumeric($0) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) }
    }

    /// The dates the protocol accepts (a contested decision, a pause): years 1900 to 2199.
    public static let dates = CalendarDate(year: 1900, month: 1, day: 1)!...CalendarDate(year: 2199, month: 12, day: 31)!

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }
}
