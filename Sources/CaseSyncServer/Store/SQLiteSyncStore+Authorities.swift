import CaseSyncDomain
import CaseSyncProtocol
import Crypto
import Foundation
import GRDB

extension SQLiteSyncStore {
    /// Adds authorities to the register, or replaces those with the same id. With `replacingAll`, the
    /// register becomes exactly `authorities`.
    public func addAuthorities(_ authorities: [Authority], replacingAll: Bool = false) async throws {
        for authority in authorities { try Self.check(authority) }
        try await writer.write { db in try Self.insert(authorities, replacingAll: replacingAll, db) }
    }

    /// `addAuthorities` without waiting for the writer in an async context: for a store being set up
    /// (tests, a first start).
    public func seedAuthorities(_ authorities: [Authority]) throws {
        for authority in authorities { try Self.check(authority) }
        try writer.write { db in try Self.insert(authorities, replacingAll: false, db) }
    }

    private static func insert(_ authorities: [Authority], replacingAll: Bool, _ db: Database) throws {
        if replacingAll { try db.execute(sql: "DELETE FROM authorities") }
        for authority in authorities {
            try db.execute(
                sql: """
                    INSERT INTO authorities (id, name, postal_address, tax_official) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, postal_address = excluded.postal_address,
                        tax_official = excluded.tax_official
                    """,
                arguments: [authority.id, authority.name, authority.postalAddress.joined(separator: "\n"), authority.taxOfficial])
        }
    }

    /// Takes an authority out of the register. Its cases stay; devices show them as flagged.
    public func removeAuthority(id: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM authorities WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw ServiceError(.notFound, "no authority \(id) is in the register") }
        }
    }

    /// The register and its version (a digest of its content).
    public func authorityRegister() async throws -> AuthorityRegister {
        let authorities = try await writer.read { db in try Self.authorities(db) }
        let content = try WireCoding.encoder().encode(authorities)
        let version = SHA256.hash(data: content).prefix(8).map { String(format: "%02x", $0) }.joined()
        return AuthorityRegister(version: version, authorities: authorities)
    }

    static func authorities(_ db: Database) throws -> [Authority] {
        try Row.fetchAll(db, sql: "SELECT id, name, postal_address, tax_official FROM authorities ORDER BY name, id").map {
            Authority(
                id: $0["id"], name: $0["name"], postalAddress: ($0["postal_address"] as String).components(separatedBy: "\n"),
                taxOfficial: $0["tax_official"])
        }
    }

    /// Whether the register holds `id`, and if not, the closest authorities it does.
    static func standing(_ db: Database, authorityId id: String) throws -> AuthorityStanding {
        // The common case reads one row; only an unknown id reads the register for suggestions.
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM authorities WHERE id = ?", arguments: [id]) != nil { return .registered }
        return AuthoritySearch(try authorities(db)).standing(of: id)
    }

    /// An authority's fields in their forms: an id of the token form, a name, an address.
    static func check(_ authority: Authority) throws {
        guard WireForm.isToken(authority.id) else {
            throw ServiceError(.invalidRequest, "an authority id is 1 to 64 of a-z 0-9 - _ (e.g. gm0344): \(authority.id.prefix(64))")
        }
        guard !authority.name.trimmingCharacters(in: .whitespaces).isEmpty, authority.name.utf8.count <= 200 else {
            throw ServiceError(.invalidRequest, "authority \(authority.id) needs a name (at most 200 bytes)")
        }
        let lines = authority.postalAddress
        guard !lines.isEmpty, lines.count <= 6,
            lines.allSatisfy({ !$0.trimmingCharacters(in: .whitespaces).isEmpty && $0.utf8.count <= 200 && !$0.contains("\n") })
        else {
            throw ServiceError(.invalidRequest, "authority \(authority.id) needs a postal address of 1 to 6 lines")
        }
        if let official = authority.taxOfficial, official.utf8.count > 200 {
            throw ServiceError(.invalidRequest, "authority \(authority.id): the tax official takes at most 200 bytes")
        }
    }
}
