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
            return try insertCode(db, accountId: accountId, days: days)
        }
    }

    public func inviteDevice(accountId: String, validFor days: Int) async throws -> Invitation {
        try await writer.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE id = ?", arguments: [accountId]) != nil else {
                throw ServiceError(.notFound, "no account has this id")
            }
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

    public func redeem(_ request: RedeemRequest) async throws -> RedeemResponse {
        let now = environment.now()
        let device = AccountRules.newDevice(request, environment: environment)
        let codeHash = AccountRules.codeHash(request.code)
        return try await writer.write { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT a.id, a.role, a.authority_id, a.display_name FROM login_codes c
                    JOIN accounts a ON a.id = c.account_id
                    WHERE c.code_hash = ? AND c.redeemed_at IS NULL AND c.expires_at > ?
                    """,
                arguments: [codeHash, now.millisecondsSince1970])
            else { throw AccountRules.invalidCode }
            try db.execute(
                sql: "UPDATE login_codes SET redeemed_at = ? WHERE code_hash = ?", arguments: [now.millisecondsSince1970, codeHash])
            let account = try Self.account(row)
            try db.execute(
                sql: "INSERT INTO devices (client_id, account_id, token_hash, device_name, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [device.clientId, account.id, AccountRules.tokenHash(device.token), device.name, now.millisecondsSince1970])
            return RedeemResponse(token: device.token, clientId: device.clientId, account: account)
        }
    }

    public func session(token: String) async throws -> Session? {
        let hash = AccountRules.tokenHash(token)
        if let cached = sessions.get(hash) { return cached }
        let session = try await writer.read { db -> Session? in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT d.client_id, a.id, a.role, a.authority_id, a.display_name FROM devices d
                    JOIN accounts a ON a.id = d.account_id WHERE d.token_hash = ?
                    """,
                arguments: [hash])
            else { return nil }
            return Session(clientId: row["client_id"], account: try Self.account(row))
        }
        if let session { sessions.put(hash, session) }
        return session
    }

    static func account(_ row: Row) throws -> AccountInfo {
        try AccountRules.account(id: row["id"], role: row["role"], authorityId: row["authority_id"], displayName: row["display_name"])
    }
}
