import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import GRDB
import Logging

/// This device's hybrid logical clock, and its correction when the server finds it running ahead.
extension CaseSyncClient {
    /// The device's clock, continuing from its last reading.
    static func clock(_ db: Database, account: LocalAccount) throws -> HybridLogicalClock {
        HybridLogicalClock(
            node: account.clientId, last: try String.fetchOne(db, sql: "SELECT hlc FROM account").flatMap(HLCTimestamp.init))
    }

    /// The time clock readings are taken at: the wall clock, corrected by what the server last said
    /// about it.
    static func clockTime(_ db: Database, now: Timestamp) throws -> Timestamp {
        let offset = try Int64.fetchOne(db, sql: "SELECT clock_offset_ms FROM account") ?? 0
        return Timestamp(millisecondsSince1970: now.millisecondsSince1970 &+ offset)
    }

    /// The server refused a push because this device's clock runs ahead of its own (`clock_ahead`):
    /// remember the difference, and take new readings for the outbox's mutations that are further ahead
    /// than the server allows. A reading within the allowance is kept as it is: the server may have
    /// applied that mutation already (its answer lost), and a changed mutation under a used id would be
    /// refused as `mutation_id_reused`. New readings sort after every kept one before them, so the
    /// outbox's order stays the clocks' order; ids and order never change. Returns false when the answer
    /// gives nothing to correct by.
    func correctClock(after error: ErrorEnvelope.Body) async throws -> Bool {
        guard error.code == .clockAhead, let text = error.details?["serverTime"], let serverTime = Timestamp(iso8601: text)
        else { return false }
        let allowance = error.details?["maxClockSkewMillis"].flatMap { Int64($0) } ?? ProtocolLimits().maxClockSkewMillis
        let latest = serverTime.millisecondsSince1970 &+ allowance
        let offset = serverTime.millisecondsSince1970 - environment.now().millisecondsSince1970
        let restamped = try await database.writer.write { db -> Int in
            let account = try Self.requireAccount(db)
            try db.execute(sql: "UPDATE account SET clock_offset_ms = ?", arguments: [offset])
            // Start again from the server's time: readings this device took too far ahead never reached the server.
            var clock = HybridLogicalClock(
                node: account.clientId, last: HLCTimestamp(millis: serverTime.millisecondsSince1970, counter: 0, node: account.clientId))
            var count = 0
            for row in try Row.fetchAll(db, sql: "SELECT body FROM outbox ORDER BY mutation_id") {
                var mutation = try LocalDatabase.decoder.decode(Mutation.self, from: row["body"] as Data)
                guard mutation.hlc.millis > latest else {
                    clock.observe(mutation.hlc, now: serverTime)
                    continue
                }
                mutation.hlc = clock.tick(now: serverTime)
                try db.execute(
                    sql: "UPDATE outbox SET body = ? WHERE mutation_id = ?",
                    arguments: [try LocalDatabase.encoder.encode(mutation), mutation.mutationId])
                count += 1
            }
            try db.execute(sql: "UPDATE account SET hlc = ?", arguments: [clock.last.description])
            return count
        }
        logger.notice(
            "this device's clock runs ahead of the server's; corrected",
            metadata: ["casesync.clock_offset_ms": "\(offset)", "casesync.restamped": "\(restamped)"])
        return true
    }
}
