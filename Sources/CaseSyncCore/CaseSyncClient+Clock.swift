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
    /// remember the difference, and take new readings for the outbox's mutations that the server has
    /// not applied (every one ahead of the server's time; an applied one was within the limit). The
    /// mutations keep their ids and order. Returns false when the answer gives nothing to correct by.
    func correctClock(after error: ErrorEnvelope.Body) async throws -> Bool {
        guard error.code == .clockAhead, let text = error.details?["serverTime"], let serverTime = Timestamp(iso8601: text)
        else { return false }
        let now = environment.now()
        let offset = serverTime.millisecondsSince1970 - now.millisecondsSince1970
        let restamped = try await database.writer.write { db -> Int in
            let account = try Self.requireAccount(db)
            try db.execute(sql: "UPDATE account SET clock_offset_ms = ?", arguments: [offset])
            // Start again from the server's time: readings this device took ahead of it never reached the server.
            var clock = HybridLogicalClock(node: account.clientId, last: HLCTimestamp(millis: serverTime.millisecondsSince1970, counter: 0, node: account.clientId))
            var count = 0
            for row in try Row.fetchAll(db, sql: "SELECT mutation_id, body FROM outbox ORDER BY mutation_id") {
                var mutation = try LocalDatabase.decoder.decode(Mutation.self, from: row["body"] as Data)
                guard mutation.hlc.millis > serverTime.millisecondsSince1970 else { continue }
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
