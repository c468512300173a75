import CaseSyncProtocol
import GRDB

/// The account's devices, and leaving: a device lists the account's devices, shuts one out, or logs
/// itself out. A device the server no longer accepts is marked signed out here (`LocalAccount.signedOut`).
extension CaseSyncClient {
    /// The account's devices, as the server lists them.
    public func devices(transport: any SyncTransport) async throws -> DeviceList {
        let token = try deviceToken()
        return try await calling { () async throws(SyncTransportError) in try await transport.devices(token: token) }
    }

    /// Everything the server holds about this account (GDPR): from the server, not this device's copy.
    public func exportAccount(transport: any SyncTransport) async throws -> AccountExport {
        let token = try deviceToken()
        return try await calling { () async throws(SyncTransportError) in try await transport.exportAccount(token: token) }
    }

    /// Finds the one device whose client id starts with `prefix` (at least 4 characters).
    public func deviceId(matching prefix: String, in list: DeviceList) throws -> String {
        let prefix = prefix.lowercased()
        guard prefix.count >= 4 else { throw ClientError(.invalidInput, "give at least 4 characters of the device id") }
        let matches = list.devices.map(\.clientId).filter { $0.hasPrefix(prefix) }
        switch matches.count {
        case 1: return matches[0]
        case 0: throw ClientError(.notFound, "this account has no device whose id starts with \(prefix)")
        default: throw ClientError(.ambiguous, "\(matches.count) devices' ids start with \(prefix); give more characters")
        }
    }

    /// Shuts one of the account's devices out at once; its unsent edits are never applied. (This device
    /// is then signed out.)
    @discardableResult
    public func revokeDevice(clientId: String, transport: any SyncTransport, discardPending: Bool = false) async throws -> DeviceInfo {
        let (token, account) = (try deviceToken(), try await database.writer.read { db in try Self.requireAccount(db) })
        // Shutting this device out strands what it has not sent, as logging out would.
        if clientId == account.clientId { try checkNothingUnsent(discarding: discardPending) }
        let device = try await calling { () async throws(SyncTransportError) in try await transport.revokeDevice(clientId: clientId, token: token) }
        if device.current {
            _ = try await noteSignedOut(ClientError(.signedOut, "this device logged out", reason: device.revokedReason))
        }
        return device
    }

    /// Stops this device's token on the server, then forgets everything this device holds (token,
    /// cases, profile). Edits not yet sent are refused unless `discardPending`. A device the server
    /// signed out already is forgotten without asking it.
    public func logout(transport: any SyncTransport, discardPending: Bool = false) async throws {
        let account = try await database.writer.read { db in try Self.requireAccount(db) }
        try checkNothingUnsent(discarding: discardPending)
        // A device whose token is gone cannot stop it at the server (the account's other devices can):
        // it forgets what it holds all the same.
        if account.signedOut == nil, let token = try? deviceToken() {
            do {
                _ = try await calling { () async throws(SyncTransportError) in try await transport.logout(token: token) }
            } catch let error as ClientError where error.code == .signedOut {
                // Stopped already: nothing left to stop.
            }
        }
        try await database.writer.write { db in try LocalDatabase.forgetAccount(db, profile: true) }
        try database.tokens.delete()
    }

    /// Refuses to drop edits this device never sent, or the refused ones it still shows, unless told to.
    func checkNothingUnsent(discarding: Bool) throws {
        let (pending, refused) = try database.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dead_letters") ?? 0)
        }
        guard pending + refused == 0 || discarding else {
            var lost: [String] = []
            if pending > 0 { lost.append("\(pending) edit(s) made on this device were never sent") }
            if refused > 0 { lost.append("\(refused) edit(s) the server refused are still shown here") }
            throw ClientError(.unsentEdits, lost.joined(separator: " and ") + "; they would be lost: sync first, or discard them explicitly")
        }
    }

    /// Runs a call of the account's, turning its failure into a client error (and a refusal of this
    /// device into its being signed out).
    func calling<T>(_ body: () async throws(SyncTransportError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw try await noteSignedOut(ClientError.from(error))
        }
    }

    /// Marks the device signed out when the error says the server no longer accepts it; returns the error.
    func noteSignedOut(_ error: ClientError) async throws -> ClientError {
        guard error.code == .signedOut else { return error }
        let reason = error.reason ?? RevocationReason.revoked.rawValue
        try await database.writer.write { db in
            try db.execute(sql: "UPDATE account SET signed_out = ? WHERE signed_out IS NULL", arguments: [reason])
        }
        return error
    }
}

extension LocalDatabase {
    /// Empties the account's tables (and, with `profile`, the sender block too): the device holds nothing
    /// of the account any more.
    static func forgetAccount(_ db: Database, profile: Bool) throws {
        let tables = ["account", "records", "outbox", "dead_letters", "case_list", "case_list_dirty"] + (profile ? ["sender_profile"] : [])
        for table in tables {
            try db.execute(sql: "DELETE FROM \(table)")
        }
    }
}
