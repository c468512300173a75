import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import PostgresNIO

extension PostgresSyncStore {
    public func addAuthorities(_ authorities: [Authority], replacingAll: Bool = false) async throws {
        for authority in authorities { try AuthorityRules.check(authority) }
        let (logger, now) = (logger, environment.now())
        try await transaction { connection in
            if replacingAll { try await connection.query("DELETE FROM authorities", logger: logger) }
            try await Self.appendAudit([AuditRules.authoritiesChanged(authorities.count, replacingAll: replacingAll, at: now)], connection, logger: logger)
            guard !authorities.isEmpty else { return }
            try await connection.query(
                """
                INSERT INTO authorities (id, name, postal_address, tax_official)
                SELECT id, name, address, NULLIF(official, '')
                FROM UNNEST(\(authorities.map(\.id))::TEXT[], \(authorities.map(\.name))::TEXT[],
                    \(authorities.map(AuthorityRules.storedAddress))::TEXT[], \(authorities.map { $0.taxOfficial ?? "" })::TEXT[])
                    AS a(id, name, address, official)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, postal_address = excluded.postal_address,
                    tax_official = excluded.tax_official
                """, logger: logger)
        }
    }

    public func removeAuthority(id: String) async throws {
        let (logger, now) = (logger, environment.now())
        try await transaction { connection in
            let rows = try await connection.query("DELETE FROM authorities WHERE id = \(id) RETURNING id", logger: logger)
            var removed = false
            for try await _ in rows.decode(String.self) { removed = true }
            guard removed else { throw ServiceError(.notFound, "no authority \(id) is in the register") }
            try await Self.appendAudit([.byOperator(at: now, .authorityRemoved, subject: id)], connection, logger: logger)
        }
    }

    public func authorityRegister() async throws -> AuthorityRegister {
        try AuthorityRules.register(try await Self.authorities(client.query(Self.allAuthorities, logger: logger)))
    }

    static let allAuthorities: PostgresQuery = "SELECT id, name, postal_address, tax_official FROM authorities"

    static func authorities(_ rows: PostgresRowSequence) async throws -> [Authority] {
        var authorities: [Authority] = []
        for try await (id, name, address, official) in rows.decode((String, String, String, String?).self) {
            authorities.append(Authority(id: id, name: name, postalAddress: AuthorityRules.address(stored: address), taxOfficial: official))
        }
        return AuthorityRules.ordered(authorities)
    }

    /// Whether the register holds each id, and for one it does not, the closest authorities it does.
    static func standings(of ids: Set<String>, _ connection: PostgresConnection, logger: Logger) async throws
        -> [String: AuthorityStanding]
    {
        var standings: [String: AuthorityStanding] = [:]
        for try await id in try await connection.query(
            "SELECT id FROM authorities WHERE id = ANY(\(Array(ids)))", logger: logger
        ).decode(String.self) {
            standings[id] = .registered
        }
        let unknown = ids.filter { standings[$0] == nil }
        guard !unknown.isEmpty else { return standings }
        // Only an unknown id reads the register, for suggestions.
        let search = AuthoritySearch(try await authorities(connection.query(allAuthorities, logger: logger)))
        for id in unknown { standings[id] = search.standing(of: id) }
        return standings
    }
}
