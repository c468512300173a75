/// The ids a device gives what it creates (cases and messages) carry that device's tag, so a device
/// can only ever name new records in its own part of the id space. A create whose id lacks the tag is
/// refused before anything is looked up, whether or not a record with that id exists: there is no
/// way to learn from a refusal that someone else's case or message exists (PROTOCOL.md §2).
///
/// A created id is a lower-case UUID of version 8 whose last 12 hex digits are the device's tag
/// (`8f3a…-…-…-…-<tag>`); the other 18 free hex digits come from the device's own random id.
public enum CreatedId {
    /// The 12 hex digits that end every id the device with this client id creates: the low 48 bits
    /// of the 64-bit FNV-1a hash of the client id's bytes. Client ids are chosen by the server at
    /// random, so no device can pick a tag it shares with another.
    public static func tag(of clientId: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in clientId.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash & 0xffff_ffff_ffff, radix: 16)
        return String(repeating: "0", count: 12 - digits.count) + digits
    }

    /// A new id for what the device with `clientId` creates, made from a random lower-case UUID
    /// (`random`): its last 18 free hex digits, version 8, its variant, and the device's tag.
    public static func make(from random: String, clientId: String) -> String {
        precondition(WireForm.isUUID(random), "a created id is made from a lower-case UUID")
        let hex = Array(random.utf8.filter { $0 != UInt8(ascii: "-") })
        // Hex digits 12 (version) and 16 (variant) are not free.
        let free = Array((hex[0..<12] + hex[13..<16] + hex[17..<32]).suffix(18))
        let text = { (range: Range<Int>) in String(decoding: free[range], as: UTF8.self) }
        return text(0..<8) + "-" + text(8..<12) + "-8" + text(12..<15) + "-" + String(UnicodeScalar(hex[16]))
            + text(15..<18) + "-" + tag(of: clientId)
    }

    /// Whether `id` is a lower-case UUID that the device with `clientId` may create.
    public static func isCreated(_ id: String, by clientId: String) -> Bool {
        WireForm.isUUID(id) && id.utf8.dropFirst(14).first == UInt8(ascii: "8") && id.hasSuffix(tag(of: clientId))
    }
}
