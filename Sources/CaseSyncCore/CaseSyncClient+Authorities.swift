import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB

/// The server's register of authorities, kept on the device so that filing checks it offline: an
/// objection to an authority the register does not hold is refused before it can look filed.
extension CaseSyncClient {
    /// How long a fetched register is used before a sync asks the server whether it changed.
    static let registerMaxAgeMillis: Int64 = 3_600_000

    /// Fetches the register if it changed since the one this device holds (a `304` costs nothing);
    /// unless `force`, only when the one held is older than an hour.
    public func refreshAuthorities(transport: any SyncTransport, force: Bool = true) async throws {
        let now = environment.now().millisecondsSince1970
        let held = try await database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT version, fetched_at FROM authority_register")
        }
        if !force, let fetchedAt = held?["fetched_at"] as Int64?, now - fetchedAt < Self.registerMaxAgeMillis { return }
        let fetched: AuthorityRegister?
        do {
            fetched = try await transport.authorities(ifNoneMatch: held?["version"])
        } catch {
            throw ClientError.from(error)
        }
        let body = try fetched.map { try WireCoding.encoder().encode($0) }
        try await database.writer.write { db in
            if let fetched, let body {
                try db.execute(
                    sql: """
                        INSERT INTO authority_register (id, version, body, fetched_at) VALUES (1, ?, ?, ?)
                        ON CONFLICT(id) DO UPDATE SET version = excluded.version, body = excluded.body, fetched_at = excluded.fetched_at
                        """,
                    arguments: [fetched.version, body, now])
            } else {
                try db.execute(sql: "UPDATE authority_register SET fetched_at = ?", arguments: [now])
            }
        }
    }

    /// The register this device holds; nil before it has fetched one.
    public func authorityRegister() throws -> AuthorityRegister? {
        try database.writer.read { db in try Self.authorityRegister(db) }
    }

    /// The authorities whose id or name contains `search` (all of them without it).
    public func authorities(search: String? = nil) throws -> [Authority] {
        AuthoritySearch(try authorityRegister()?.authorities ?? []).search(search ?? "")
    }

    /// The authority a person named by its id or an unambiguous part of its name; refuses, with the
    /// closest names, one the register does not hold.
    public func resolveAuthority(_ text: String) throws -> Authority {
        guard let register = try authorityRegister() else {
            throw ClientError(
                .invalidInput, "this device has no register of authorities yet; sync once while online, then file the objection")
        }
        switch AuthoritySearch(register.authorities).resolve(text) {
        case .found(let authority):
            return authority
        case .ambiguous(let matches):
            throw ClientError(
                .invalidInput,
                "\"\(text)\" names several authorities: " + matches.prefix(5).map { "\($0.name) (\($0.id))" }.joined(separator: ", ")
                    + "; name one by its id")
        case .unknown(let suggestions):
            let fetched = try database.writer.read { db in try Int64.fetchOne(db, sql: "SELECT fetched_at FROM authority_register") }
            let day = fetched.map { Timestamp(millisecondsSince1970: $0).utcDate.description } ?? "?"
            throw ClientError(
                .invalidInput,
                RuleViolation.unknownAuthority(text, suggestions: suggestions).message + " (this device's register is from \(day))",
                subject: .authority)
        }
    }

    static func authorityRegister(_ db: Database) throws -> AuthorityRegister? {
        guard let body = try Data.fetchOne(db, sql: "SELECT body FROM authority_register") else { return nil }
        return try WireCoding.decode(AuthorityRegister.self, from: body)
    }

    /// Whether the register this device holds has `authorityId` (`.unchecked` before it has one).
    static func standing(_ db: Database, authorityId: String) throws -> AuthorityStanding {
        guard let register = try authorityRegister(db) else { return .unchecked }
        return AuthoritySearch(register.authorities).standing(of: authorityId)
    }
}
