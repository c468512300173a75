import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import GRDB

extension SQLiteSyncStore {
    public func invite(role: ActorRole, authorityId: String?, displayName: String, validFor days: Int) async throws
        -> Invitation
    {
        let (name, authority) = try AccountRules.newAccount(role: role, authorityId: authorityId, displayName: displayName)
        let accountId = environment.makeId()
        let now = environment.now()
        return try await writer.write { db in
            if let authority { try AccountRules.checkOfficerAuthority(authority, standing: try Self.standing(db, authorityId: authority)) }
            try db.execute(
                sql: "INSERT INTO accounts (id, role, authority_id, display_name, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [accountId, role.rawValue, authority, name, now.millisecondsSince1970])
            try Self.appendAudit([.byOperator(at: now, .accountCreated, accountId: accountId)], db)
            return try insertCode(db, accountId: accountId, days: days)
        }
    }

    public func inviteDevice(accountId: String, validFor days: Int) async throws -> Invitation {
        let now = environment.now()
        return try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT disabled_at FROM accounts WHERE id = ?", arguments: [accountId]) else {
                throw AccountRules.noSuchAccount
            }
            try AccountRules.checkEnabled(disabledAt: row[0])
            try Self.appendAudit([.byOperator(at: now, .deviceInvited, accountId: accountId)], db)
            return try insertCode(db, accountId: accountId, days: days)
        }
    }

    private func insertCode(_ db: Database, accountId: String, days: Int) throws -> Invitation {
        let (invitation, hash) = AccountRules.loginCode(accountId: accountId, days: days, environment: environment)
        try db.execute(
            sql: "INSERT INTO login_codes (code_hash, account_id, expires_at) VALUES (?, ?, ?)",
            arguments: [hash, accountId, invitation.expiresAt.millisecondsSince1970])
        return invitation
    }

    public func redeem(_ request: RedeemRequest, address: String?) async throws -> RedeemResponse {
        let now = environment.now()
        let device = AccountRules.newDevice(request, environment: environment)
        let codeHash = AccountRules.codeHash(request.code)
        return try await writer.write { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT a.id, a.role, a.authority_id, a.display_name FROM login_codes c
                    JOIN accounts a ON a.id = c.account_id
                    WHERE c.code_hash = ? AND c.redeemed_at IS NULL AND c.expires_at > ? AND a.disabled_at IS NULL
                    """,
                arguments: [codeHash, now.millisecondsSince1970])
            else { throw AccountRules.invalidCode }
            try db.execute(
                sql: "UPDATE login_codes SET redeemed_at = ? WHERE code_hash = ?", arguments: [now.millisecondsSince1970, codeHash])
            let account = try Self.account(row)
            try db.execute(
                sql: """
                    INSERT INTO devices (client_id, account_id, token_hash, device_name, created_at, last_seen_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    device.clientId, account.id, AccountRules.tokenHash(device.token), device.name, now.millisecondsSince1970,
                    now.millisecondsSince1970,
                ])
            try Self.appendAudit(
                [.by(Session(clientId: device.clientId, account: account, address: address), at: now, .login)], db)
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
                try await writer.read { db -> DeviceStanding? in
                    guard let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT d.client_id, d.last_seen_at, d.revoked_at, d.revoked_reason, a.id, a.role, a.authority_id, a.display_name
                            FROM devices d JOIN accounts a ON a.id = d.account_id WHERE d.token_hash = ?
                            """,
                        arguments: [hash])
                    else { return nil }
                    return DeviceStanding(
                        session: Session(clientId: row["client_id"], account: try Self.account(row)),
                        lastSeenAt: Timestamp(millisecondsSince1970: row["last_seen_at"]),
                        revokedAt: (row["revoked_at"] as Int64?).map(Timestamp.init(millisecondsSince1970:)),
                        revokedReason: row["revoked_reason"])
                }
            },
            expire: { clientId in
                let expired = try await writer.write { db in
                    try Self.revoke(
                        db, where: "client_id = ?", [clientId], reason: .expired,
                        by: AuditEntry(at: time, actor: .server, clientId: clientId, action: .sessionExpired))
                }
                sessions.evict(clientIds: Set(expired.stopped))
            },
            noteUse: { clientId in
                try await writer.write { db in
                    try db.execute(
                        sql: "UPDATE devices SET last_seen_at = ? WHERE client_id = ? AND last_seen_at < ?", arguments: [now, clientId, now])
                }
            })
    }

    public func devices(accountId: String) async throws -> [DeviceInfo] {
        try await writer.read { db in
            SessionRules.ordered(
                try Row.fetchAll(
                    db, sql: "SELECT \(Self.deviceColumns) FROM devices WHERE account_id = ?", arguments: [accountId]
                ).map(Self.device))
        }
    }

    public func revokeDevice(clientId: String, by session: Session?, reason: RevocationReason) async throws -> DeviceInfo {
        let now = environment.now()
        let actor = AuditEntry.revocation(reason, by: session, at: now)
        // A device revokes only its account's devices; the operator any.
        let account = session?.account.id
        let found = try await writer.write { db in
            // The device that asks must still work, read in this transaction: one shut out a moment ago
            // (by the very device it is shutting out, say) stops nothing.
            if let session {
                try SessionRules.checkActive(
                    try String.fetchOne(db, sql: "SELECT \(SessionRules.deviceStateSQL("?"))", arguments: [session.clientId]))
            }
            return try Self.revoke(
                db, where: "client_id = ? AND (? IS NULL OR account_id = ?)", [clientId, account, account], reason: reason, by: actor)
        }
        sessions.evict(clientIds: Set(found.stopped))
        guard let device = found.devices.first else { throw SessionRules.deviceNotFound }
        return device
    }

    public func setAccountDisabled(accountId: String, disabled: Bool) async throws -> Int {
        let now = environment.now()
        let stopped = try await writer.write { db -> [String] in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE id = ?", arguments: [accountId]) != nil else {
                throw AccountRules.noSuchAccount
            }
            try db.execute(
                sql: disabled
                    ? "UPDATE accounts SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL"
                    : "UPDATE accounts SET disabled_at = NULL WHERE id = ? AND disabled_at IS NOT NULL",
                arguments: disabled ? [now.millisecondsSince1970, accountId] : [accountId])
            guard db.changesCount > 0 else { return [] }
            try Self.appendAudit([.byOperator(at: now, disabled ? .accountDisabled : .accountEnabled, accountId: accountId)], db)
            guard disabled else { return [] }
            // Its codes not yet used stop for good: enabling it again needs new ones.
            try db.execute(
                sql: "UPDATE login_codes SET expires_at = ? WHERE account_id = ? AND redeemed_at IS NULL AND expires_at > ?",
                arguments: [now.millisecondsSince1970, accountId, now.millisecondsSince1970])
            return try Self.revoke(
                db, where: "account_id = ?", [accountId], reason: .accountDisabled, by: .byOperator(at: now, .accountDisabled)
            ).stopped
        }
        sessions.evict(clientIds: Set(stopped))
        return stopped.count
    }

    /// Stops the devices the condition selects that still work, each with an audit entry (`actor`, for
    /// the device it stopped); answers the devices selected, as they are afterwards, and the client ids
    /// of those it stopped, which the caller evicts from this instance's memory once the transaction
    /// committed.
    static func revoke(
        _ db: Database, where condition: String, _ arguments: StatementArguments, reason: RevocationReason, by actor: AuditEntry
    ) throws -> (devices: [DeviceInfo], stopped: [String]) {
        let stopped = try Row.fetchAll(
            db,
            sql: "UPDATE devices SET revoked_at = ?, revoked_reason = ? WHERE revoked_at IS NULL AND \(condition) RETURNING client_id, account_id",
            arguments: [actor.at.millisecondsSince1970, reason.rawValue] + arguments)
        try appendAudit(
            stopped.map { row in
                var entry = actor
                (entry.accountId, entry.subject) = (row[1], row[0])
                return entry
            }, db)
        let devices = try Row.fetchAll(db, sql: "SELECT \(deviceColumns) FROM devices WHERE \(condition)", arguments: arguments).map(device)
        return (devices, stopped.map { $0[0] })
    }

    static let deviceColumns = "client_id, device_name, created_at, last_seen_at, revoked_at, revoked_reason"

    static func device(_ row: Row) -> DeviceInfo {
        DeviceInfo(
            clientId: row[0], name: row[1], createdAt: Timestamp(millisecondsSince1970: row[2]),
            lastSeenAt: Timestamp(millisecondsSince1970: row[3]),
            revokedAt: (row[4] as Int64?).map(Timestamp.init(millisecondsSince1970:)), revokedReason: row[5])
    }

    static func account(_ row: Row) throws -> AccountInfo {
        try AccountRules.account(id: row["id"], role: row["role"], authorityId: row["authority_id"], displayName: row["display_name"])
    }
}
