import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import PostgresNIO

extension PostgresSyncStore {
    public func invite(role: ActorRole, authorityId: String?, displayName: String, validFor days: Int) async throws -> Invitation {
        let (name, authority) = try AccountRules.newAccount(role: role, authorityId: authorityId, displayName: displayName)
        let accountId = environment.makeId()
        let now = environment.now().millisecondsSince1970
        let (environment, logger) = (environment, logger)
        return try await transaction { connection in
            if let authority {
                let standing = try await Self.standings(of: [authority], connection, logger: logger)[authority] ?? .unchecked
                try AccountRules.checkOfficerAuthority(authority, standing: standing)
            }
            try await connection.query(
                """
                INSERT INTO accounts (id, role, authority_id, display_name, created_at)
                VALUES (\(accountId), \(role.rawValue), \(authority), \(name), \(now))
                """, logger: logger)
            return try await Self.insertCode(accountId: accountId, days: days, environment: environment, connection, logger: logger)
        }
    }

    public func inviteDevice(accountId: String, validFor days: Int) async throws -> Invitation {
        let (environment, logger) = (environment, logger)
        return try await transaction { connection in
            var found = false
            for try await _ in try await connection.query("SELECT 1 FROM accounts WHERE id = \(accountId)", logger: logger).decode(Int32.self) {
                found = true
            }
            guard found else { throw ServiceError(.notFound, "no account has this id") }
            return try await Self.insertCode(accountId: accountId, days: days, environment: environment, connection, logger: logger)
        }
    }

    private static func insertCode(
        accountId: String, days: Int, environment: ServerEnvironment, _ connection: PostgresConnection, logger: Logger
    ) async throws -> Invitation {
        let (invitation, hash) = AccountRules.loginCode(accountId: accountId, days: days, environment: environment)
        try await connection.query(
            """
            INSERT INTO login_codes (code_hash, account_id, expires_at)
            VALUES (\(hash), \(accountId), \(invitation.expiresAt.millisecondsSince1970))
            """, logger: logger)
        return invitation
    }

    public func redeem(_ request: RedeemRequest) async throws -> RedeemResponse {
        let now = environment.now().millisecondsSince1970
        let device = AccountRules.newDevice(request, environment: environment)
        let codeHash = AccountRules.codeHash(request.code)
        let logger = logger
        return try await transaction { connection in
            // The code is used once: the update takes it, a concurrent redemption finds it used.
            let rows = try await connection.query(
                """
                UPDATE login_codes c SET redeemed_at = \(now) FROM accounts a
                WHERE c.code_hash = \(codeHash) AND c.redeemed_at IS NULL AND c.expires_at > \(now) AND a.id = c.account_id
                RETURNING a.id, a.role, a.authority_id, a.display_name
                """, logger: logger)
            var account: AccountInfo?
            for try await (id, role, authority, name) in rows.decode((String, String, String?, String).self) {
                account = try AccountRules.account(id: id, role: role, authorityId: authority, displayName: name)
            }
            guard let account else { throw AccountRules.invalidCode }
            try await connection.query(
                """
                INSERT INTO devices (client_id, account_id, token_hash, device_name, created_at)
                VALUES (\(device.clientId), \(account.id), \(AccountRules.tokenHash(device.token)), \(device.name), \(now))
                """, logger: logger)
            return RedeemResponse(token: device.token, clientId: device.clientId, account: account)
        }
    }

    public func session(token: String) async throws -> Session? {
        let hash = AccountRules.tokenHash(token)
        if let cached = sessions.get(hash) { return cached }
        let rows = try await client.query(
            """
            SELECT d.client_id, a.id, a.role, a.authority_id, a.display_name FROM devices d
            JOIN accounts a ON a.id = d.account_id WHERE d.token_hash = \(hash)
            """, logger: logger)
        var session: Session?
        for try await (clientId, id, role, authority, name) in rows.decode((String, String, String, String?, String).self) {
            session = Session(clientId: clientId, account: try AccountRules.account(id: id, role: role, authorityId: authority, displayName: name))
        }
        if let session { sessions.put(hash, session) }
        return session
    }
}
