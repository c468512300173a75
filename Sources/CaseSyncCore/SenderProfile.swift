import Foundation
import GRDB

/// Who a citizen's letter comes from, as the citizen gave it: the sender block under the signature.
/// It stays on this device: the server never needs a citizen's postal address to sync a case.
public struct SenderProfile: Sendable, Hashable, Codable {
    /// The name the letter is signed with (the account's name unless the citizen gave another).
    public var name: String
    /// The postal address, line by line ("Oudegracht 12", "3511 AR Utrecht"); empty until given.
    public var postalAddress: [String]
    public var email: String?
    public var phone: String?

    /// At most this many address lines, and this many characters a line or name.
    public static let maxAddressLines = 5
    public static let maxLineLength = 100

    public init(name: String, postalAddress: [String] = [], email: String? = nil, phone: String? = nil) {
        self.name = name
        self.postalAddress = postalAddress
        self.email = email
        self.phone = phone
    }

    /// The same profile with its parts checked and tidied (spaces trimmed); throws, naming the part
    /// and what a good one looks like, when a part cannot be right.
    public func validated() throws -> SenderProfile {
        let name = try Self.line(name, "the name")
        guard !name.isEmpty else { throw ClientError(.invalidInput, "the name cannot be empty") }
        let address = try postalAddress.map { try Self.line($0, "an address line") }
        guard address.allSatisfy({ !$0.isEmpty }) else { throw ClientError(.invalidInput, "an address line cannot be empty") }
        guard address.isEmpty || (2...Self.maxAddressLines).contains(address.count) else {
            throw ClientError(
                .invalidInput,
                "give the postal address as 2 to \(Self.maxAddressLines) lines (street and number, then postcode and place)",
                subject: .senderAddress)
        }
        return SenderProfile(
            name: name, postalAddress: address, email: try email.map(Self.email).flatMap(Self.nonEmpty),
            phone: try phone.map(Self.phone).flatMap(Self.nonEmpty))
    }

    /// The block under the signature: name, address, then e-mail and phone with their labels.
    public func block(dutch: Bool) -> [String] {
        [name] + postalAddress + [email.map { "E-mail: \($0)" }, phone.map { (dutch ? "Telefoon: " : "Phone: ") + $0 }].compactMap { $0 }
    }

    private static func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }

    private static func line(_ text: String, _ what: String) throws -> String {
        let line = text.trimmingCharacters(in: .whitespaces)
        guard !line.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ClientError(.invalidInput, "\(what) must be one line of text")
        }
        guard line.count <= maxLineLength else {
            throw ClientError(.invalidInput, "\(what) is longer than \(maxLineLength) characters")
        }
        return line
    }

    private static func email(_ text: String) throws -> String {
        let email = try line(text, "the e-mail address")
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.isEmpty
            || (parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
                && !parts[1].hasSuffix(".") && !email.contains(" "))
        else {
            throw ClientError(.invalidInput, "the e-mail address must look like name@example.nl (or \"\" to leave it out)")
        }
        return email
    }

    private static func phone(_ text: String) throws -> String {
        let phone = try line(text, "the phone number")
        let digits = phone.filter(\.isASCII).filter(\.isNumber).count
        guard phone.isEmpty || (phone.allSatisfy({ "+0123456789 -()".contains($0) }) && (6...15).contains(digits)) else {
            throw ClientError(.invalidInput, "the phone number must be 6 to 15 digits, e.g. 06 12345678 or +31 6 12345678 (or \"\" to leave it out)")
        }
        return phone
    }
}

extension CaseSyncClient {
    /// The sender block this device's letters use: the account's name until the citizen gives another.
    public func senderProfile() throws -> SenderProfile {
        try database.writer.read { db in
            let account = try Self.requireAccount(db)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sender_profile WHERE id = 1") else {
                return SenderProfile(name: account.account.displayName)
            }
            let address: String = row["postal_address"]
            return SenderProfile(
                name: row["name"] ?? account.account.displayName,
                postalAddress: address.isEmpty ? [] : address.components(separatedBy: "\n"), email: row["email"],
                phone: row["phone"])
        }
    }

    /// Changes the parts given (nil leaves a part as it is; an empty name goes back to the account's,
    /// an empty e-mail or phone leaves it out) and returns the profile as stored.
    @discardableResult
    public func updateSenderProfile(
        name: String? = nil, postalAddress: [String]? = nil, email: String? = nil, phone: String? = nil
    ) throws -> SenderProfile {
        let current = try senderProfile()
        let account = try account()?.account.displayName ?? current.name
        let givenName = name.map { $0.trimmingCharacters(in: .whitespaces) }
        let changed = try SenderProfile(
            name: givenName.map { $0.isEmpty ? account : $0 } ?? current.name, postalAddress: postalAddress ?? current.postalAddress,
            email: email ?? current.email, phone: phone ?? current.phone
        ).validated()
        try database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO sender_profile (id, name, postal_address, email, phone) VALUES (1, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, postal_address = excluded.postal_address,
                        email = excluded.email, phone = excluded.phone
                    """,
                arguments: [
                    changed.name == account ? nil : changed.name, changed.postalAddress.joined(separator: "\n"), changed.email,
                    changed.phone,
                ])
        }
        return changed
    }
}
