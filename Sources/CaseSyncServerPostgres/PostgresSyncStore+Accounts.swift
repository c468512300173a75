import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import PostgresNIO

extension PostgresSyncStore {
    public func invite(role: ActorRole, authorityId: String?, displayName: String, validFor days: Int) async throws -> Invitation {
        let (name, authority) = try AccountRules.newAccount(role: role, authorityId: authorityId, displayName: displayName)
        let accountId = environment.makeId()
        let time = environment.now()
        let now = time.millisecondsSince1970
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
            try await Self.appendAudit([.byOperator(at: time, .accountCreated, accountId: accountId)], connection, logger: logger)
            return try await Self.insertCode(accountId: accountId, days: days, environment: environment, connection, logger: logger)
        }
    }

    public func inviteDevice(accountId: String, validFor days: Int) async throws -> Invitation {
        let (environment, logger, now) = (environment, logger, environment.now())
        return try await transaction { connection in
            var (found, disabledAt): (Bool, Int64?) = (false, nil)
            let rows = try await connection.query("SELECT disabled_at FROM accounts WHERE id = \(accountId)", logger: logger)
            for try await value in rows.decode(Int64?.self) { (found, disabledAt) = (true, value) }
            guard found else { throw AccountRules.noSuchAccount }
            try AccountRules.checkEnabled(disabledAt: disabledAt)
            try await Self.appendAudit([.byOperator(at: now, .deviceInvited, accountId: accountId)], connection, logger: logger)
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

    public func redeem(_ request: RedeemRequest, address: String?) async throws -> RedeemResponse {
        let time = environment.now()
        let now = time.millisecondsSince1970
        let device = AccountRules.newDevice(request, environment: environment)
        let codeHash = AccountRules.codeHash(request.code)
        let logger = logger
        return try await transaction { connection in
            // The code is used once: the update takes it, a concurrent redemption finds it used.
            let rows = try await connection.query(
                """
                UPDATE login_codes c SET redeemed_at = \(now) FROM accounts a
                WHERE c.code_hash = \(codeHash) AND c.redeemed_at IS NULL AND c.expires_at > \(now) AND a.id = c.account_id
                  AND a.disabled_at IS NULL
                RETURNING a.id, a.role, a.authority_id, a.display_name
                """, logger: logger)
            var account: AccountInfo?
            for try await (id, role, authority, name) in rows.decode((String, String, String?, String).self) {
                account = try AccountRules.account(id: id, role: role, authorityId: authority, displayName: name)
            }
            guard let account else { throw AccountRules.invalidCode }
            try await connection.query(
                """
                INSERT INTO devices (client_id, account_id, token_hash, device_name, created_at, last_seen_at)
                VALUES (\(device.clientId), \(account.id), \(AccountRules.tokenHash(device.token)), \(device.name), \(now), \(now))
                """, logger: logger)
            try await Self.appendAudit(
                [.by(Session(clientId: device.clientId, account: account, address: address), at: time, .login)], connection, logger: logger)
            return RedeemResponse(token: device.token, clientId: device.clientId, account: account)
        }
    }

    public func session(token: String, fresh: Bool) async throws -> Session? {
        let hash = AccountRules.tokenHash(token)
        let time = environment.now()
        let now = time.millisecondsSince1970
        return try await sessions.session(
            tokenHash: hash, fresh: fresh, now: time, limits: limits,
            read: {
                let rows = try await client.query(
                    """
                    SELECT d.client_id, d.last_seen_at, d.revoked_at, d.revoked_reason, a.id, a.role, a.authority_id, a.display_name
                    FROM devices d JOIN accounts a ON a.id = d.account_id WHERE d.token_hash = \(hash)
                    """, logger: logger)
                var found: DeviceStanding?
                for try await (clientId, lastSeen, revokedAt, reason, id, role, authority, name)
                    in rows.decode((String, Int64, Int64?, String?, String, String, String?, String).self)
                {
                    let account = try AccountRules.account(id: id, role: role, authorityId: authority, displayName: name)
                    found = DeviceStanding(
                        session: Session(clientId: clientId, account: account), lastSeenAt: Timestamp(millisecondsSince1970: lastSeen),
                        revokedAt: revokedAt.map(Timestamp.init(millisecondsSince1970:)), revokedReason: reason)
                }
                return found
            },
            expire: { clientId in
                _ = try await revoke(
                    clientId: clientId, accountId: nil, reason: .expired,
                    by: AuditEntry(at: time, actor: .server, clientId: clientId, action: .sessionExpired))
            },
            noteUse: { clientId in
                try await client.query(
                    "UPDATE devices SET last_seen_at = \(now) WHERE client_id = \(clientId) AND last_seen_at < \(now)", logger: logger)
            })
    }

    public func devices(accountId: String) async throws -> [DeviceInfo] {
        var devices: [DeviceInfo] = []
        let rows = try await client.query(
            "SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE account_id = \(accountId)", logger: logger)
        for try await row in rows.decode(DeviceRow.self) { devices.append(Self.device(row)) }
        return SessionRules.ordered(devices)
    }

    public func revokeDevice(clientId: String, by session: Session?, reason: RevocationReason) async throws -> DeviceInfo {
        let now = environment.now()
        let actor = AuditEntry.revocation(reason, by: session, at: now)
        let logger = logger
        let result = try await transaction { connection in
            if let session {
                // The device that asks must still work: both rows are locked, in client-id order (two
                // devices shutting each other out at once then go one after the other, and the second
                // finds itself stopped).
                var caller: String?
                let rows = try await connection.query(
                    """
                    SELECT client_id, \(unescaped: SessionRules.deviceState) FROM devices
                    WHERE client_id IN (\(session.clientId), \(clientId)) ORDER BY client_id FOR UPDATE
                    """, logger: logger)
                for try await (id, state) in rows.decode((String, String).self) where id == session.clientId { caller = state }
                try SessionRules.checkActive(caller)
            }
            return try await Self.revoke(clientId: clientId, accountId: session?.account.id, reason: reason, by: actor, connection, logger: logger)
        }
        sessions.evict(clientIds: Set(result.stopped))
        guard let device = result.devices.first else { throw SessionRules.deviceNotFound }
        return device
    }

    public func setAccountDisabled(accountId: String, disabled: Bool) async throws -> Int {
        let time = environment.now()
        let now = time.millisecondsSince1970
        let logger = logger
        let stopped = try await transaction { connection -> [String] in
            var exists = false
            for try await _ in try await connection.query("SELECT 1 FROM accounts WHERE id = \(accountId) FOR UPDATE", logger: logger)
                .decode(Int32.self)
            {
                exists = true
            }
            guard exists else { throw AccountRules.noSuchAccount }
            let rows = try await connection.query(
                disabled
                    ? "UPDATE accounts SET disabled_at = \(now) WHERE id = \(accountId) AND disabled_at IS NULL RETURNING id"
                    : "UPDATE accounts SET disabled_at = NULL WHERE id = \(accountId) AND disabled_at IS NOT NULL RETURNING id",
                logger: logger)
            var changed = false
            for try await _ in rows.decode(String.self) { changed = true }
            guard changed else { return [] }
            try await Self.appendAudit(
                [.byOperator(at: time, disabled ? .accountDisabled : .accountEnabled, accountId: accountId)], connection, logger: logger)
            guard disabled else { return [] }
            // Its codes not yet used stop for good: enabling it again needs new ones.
            try await connection.query(
                """
                UPDATE login_codes SET expires_at = \(now) WHERE account_id = \(accountId) AND redeemed_at IS NULL AND expires_at > \(now)
                """, logger: logger)
            return try await Self.revoke(
                clientId: nil, accountId: accountId, reason: .accountDisabled, by: .byOperator(at: time, .accountDisabled), connection,
                logger: logger
            ).stopped
        }
        sessions.evict(clientIds: Set(stopped))
        return stopped.count
    }

    /// `revoke` in a transaction of its own; evicts the stopped devices from this instance's memory.
    private func revoke(clientId: String?, accountId: String?, reason: RevocationReason, by actor: AuditEntry) async throws
        -> (devices: [DeviceInfo], stopped: [String])
    {
        let logger = logger
        let result = try await transaction { connection in
            try await Self.revoke(clientId: clientId, accountId: accountId, reason: reason, by: actor, connection, logger: logger)
        }
        sessions.evict(clientIds: Set(result.stopped))
        return result
    }

    /// Stops the working devices of an account, or one device (of an account, when given), each with an
    /// audit entry (`actor`, for the device it stopped); answers the devices selected (as they are
    /// afterwards) and the ones stopped. The transaction names the stopped devices to every instance as
    /// it commits, and each forgets them (`d CLIENT…`, ScopeWatch).
    static func revoke(
        clientId: String?, accountId: String?, reason: RevocationReason, by actor: AuditEntry, _ connection: PostgresConnection,
        logger: Logger
    ) async throws -> (devices: [DeviceInfo], stopped: [String]) {
        var stopped: [(client: String, account: String)] = []
        let updated = try await connection.query(
            """
            UPDATE devices SET revoked_at = \(actor.at.millisecondsSince1970), revoked_reason = \(reason.rawValue)
            WHERE revoked_at IS NULL AND (\(clientId)::TEXT IS NULL OR client_id = \(clientId))
              AND (\(accountId)::TEXT IS NULL OR account_id = \(accountId))
            RETURNING client_id, account_id
            """, logger: logger)
        for try await row in updated.decode((String, String).self) { stopped.append(row) }
        var devices: [DeviceInfo] = []
        let rows = try await connection.query(
            """
            SELECT \(unescaped: deviceColumns) FROM devices
            WHERE (\(clientId)::TEXT IS NULL OR client_id = \(clientId)) AND (\(accountId)::TEXT IS NULL OR account_id = \(accountId))
            """, logger: logger)
        for try await row in rows.decode(DeviceRow.self) { devices.append(device(row)) }
        if !stopped.isEmpty {
            try await appendAudit(
                stopped.map { device in
                    var entry = actor
                    (entry.accountId, entry.subject) = (device.account, device.client)
                    return entry
                }, connection, logger: logger)
            try await connection.query(
                "SELECT pg_notify(\(unescaped: ScopeWatch.channel), \(ScopeWatch.revokedPayload(stopped.map(\.client))))", logger: logger)
        }
        return (devices, stopped.map(\.client))
    }

    typealias DeviceRow = (String, String?, Int64, Int64, Int64?, String?)

    static let deviceColumns = "client_id, device_name, created_at, last_seen_at, revoked_at, revoked_reason"

    static func device(_ row: DeviceRow) -> DeviceInfo {
        DeviceInfo(
            clientId: row.0, name: row.1, createdAt: Timestamp(millisecondsSince1970: row.2),
            lastSeenAt: Timestamp(millisecondsSince1970: row.3), revokedAt: row.4.map(Timestamp.init(millisecondsSince1970:)),
            revokedReason: row.5)
    }
}
