import CaseSyncDomain
import CaseSyncProtocol
import GRDB

extension SQLiteSyncStore {
    public func invite(role: ActorRole, authorityId: String?, displayName: String, validFor days: Int) async throws
        -> Invitation
    {
        let name = displayName.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200 else {
            throw ServiceError(.invalidRequest, "a name is needed (at most 200 characters)")
        }
        if role == .officer, authorityId?.isEmpty ?? true {
            throw ServiceError(.invalidRequest, "an officer belongs to an authority; name it with --authority")
        }
        let accountId = environment.makeId()
        let now = environment.now()
        return try await writer.write { db in
            if role == .officer, let authorityId, case .unknown(let suggestions) = try Self.standing(db, authorityId: authorityId) {
                throw ServiceError(.unknownAuthority, RuleViolation.unknownAuthority(authorityId, suggestions: suggestions).message)
            }
            try db.execute(
                sql: "INSERT INTO accounts (id, role, authority_id, display_name, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [accountId, role.rawValue, role == .officer ? authorityId : nil, name, now.millisecondsSince1970])
            return try insertCode(db, accountId: accountId, days: days, now: now)
        }
    }

    public func inviteDevice(accountId: String, validFor days: Int) async throws -> Invitation {
        let now = environment.now()
        return try await writer.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM accounts WHERE id = ?", arguments: [accountId]) != nil else {
                throw ServiceError(.notFound, "no account has this id")
            }
            return try insertCode(db, accountId: accountId, days: days, now: now)
        }
    }

    private func insertCode(_ db: Database, accountId: String, days: Int, now: Timestamp) throws -> Invitation {
        let code = Credentials.makeLoginCode(environment.randomBytes(12))
        let expiresAt = Timestamp(millisecondsSince1970: now.millisecondsSince1970 + Int64(days) * 86_400_000)
        try db.execute(
            sql: "INSERT INTO login_codes (code_hash, account_id, expires_at) VALUES (?, ?, ?)",
            arguments: [Credentials.hash(code: code), accountId, expiresAt.millisecondsSince1970])
        return Invitation(accountId: accountId, code: code, expiresAt: expiresAt)
    }

    public func redeem(_ request: RedeemRequest) async throws -> RedeemResponse {
        let now = environment.now()
        let token = Credentials.makeToken(environment.randomBytes(32))
        let clientId = Credentials.makeClientId(environment.randomBytes(10))
        let deviceName = request.deviceName.map { String($0.prefix(100)) }
        return try await writer.write { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT a.id, a.role, a.authority_id, a.display_name FROM login_codes c
                    JOIN accounts a ON a.id = c.account_id
                    WHERE c.code_hash = ? AND c.redeemed_at IS NULL AND c.expires_at > ?
                    """,
                arguments: [Credentials.hash(code: request.code), now.millisecondsSince1970])
            else {
                throw ServiceError(
                    .invalidLoginCode,
                    "this login code is not valid: it may be mistyped, used already or expired; ask for a new one")
            }
            try db.execute(
                sql: "UPDATE login_codes SET redeemed_at = ? WHERE code_hash = ?",
                arguments: [now.millisecondsSince1970, Credentials.hash(code: request.code)])
            let account = try Self.account(row)
            try db.execute(
                sql: "INSERT INTO devices (client_id, account_id, token_hash, device_name, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [clientId, account.id, Credentials.hash(token: token), deviceName, now.millisecondsSince1970])
            return RedeemResponse(token: token, clientId: clientId, account: account)
        }
    }

    public func session(token: String) async throws -> Session? {
        let hash = Credentials.hash(token: token)
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
        guard let role = ActorRole(rawValue: row["role"]) else {
            throw ServiceError(.internalError, "an account has an unknown role")
        }
        return AccountInfo(id: row["id"], role: role, authorityId: row["authority_id"], displayName: row["display_name"])
    }
}
