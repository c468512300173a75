import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import Foundation
import GRDB

extension SQLiteSyncStore {
    /// Adds authorities to the register, or replaces those with the same id. With `replacingAll`, the
    /// register becomes exactly `authorities`.
    public func addAuthorities(_ authorities: [Authority], replacingAll: Bool = false) async throws {
        for authority in authorities { try AuthorityRules.check(authority) }
        let now = environment.now()
        try await writer.write { db in try Self.insert(authorities, replacingAll: replacingAll, at: now, db) }
    }

    /// `addAuthorities` without waiting for the writer in an async context: for a store being set up
    /// (tests, a first start).
    public func seedAuthorities(_ authorities: [Authority]) throws {
        for authority in authorities { try AuthorityRules.check(authority) }
        let now = environment.now()
        try writer.write { db in try Self.insert(authorities, replacingAll: false, at: now, db) }
    }

    private static func insert(_ authorities: [Authority], replacingAll: Bool, at now: Timestamp, _ db: Database) throws {
        if replacingAll { try db.execute(sql: "DELETE FROM authorities") }
        try appendAudit([AuditRules.authoritiesChanged(authorities.count, replacingAll: replacingAll, at: now)], db)
        for authority in authorities {
            try db.execute(
                sql: """
                    INSERT INTO authorities (id, name, postal_address, tax_official) VALUES (?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, postal_address = excluded.postal_address,
                        tax_official = excluded.tax_official
                    """,
                arguments: [authority.id, authority.name, AuthorityRules.storedAddress(authority), authority.taxOfficial])
        }
    }

    /// Takes an authority out of the register. Its cases stay; devices show them as flagged.
    public func removeAuthority(id: String) async throws {
        let now = environment.now()
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM authorities WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw ServiceError(.notFound, "no authority \(id) is in the register") }
            try Self.appendAudit([.byOperator(at: now, .authorityRemoved, subject: id)], db)
        }
    }

    /// The register and its version (a digest of its content).
    public func authorityRegister() async throws -> AuthorityRegister {
        try AuthorityRules.register(try await writer.read { db in try Self.authorities(db) })
    }

    static func authorities(_ db: Database) throws -> [Authority] {
        AuthorityRules.ordered(
            try Row.fetchAll(db, sql: "SELECT id, name, postal_address, tax_official FROM authorities").map {
                Authority(
                    id: $0["id"], name: $0["name"], postalAddress: AuthorityRules.address(stored: $0["postal_address"]),
                    taxOfficial: $0["tax_official"])
            })
    }

    /// Whether the register holds `id`, and if not, the closest authorities it does.
    static func standing(_ db: Database, authorityId id: String) throws -> AuthorityStanding {
        // The common case reads one row; only an unknown id reads the register for suggestions.
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM authorities WHERE id = ?", arguments: [id]) != nil { return .registered }
        return AuthoritySearch(try authorities(db)).standing(of: id)
    }
}
