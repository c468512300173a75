import ArgumentParser
import CaseSyncCore
import CaseSyncServer
import CaseSyncServerSQLite
import CaseSyncSQLite
import Foundation
import GRDB
import Logging

// The floor SQLite sets for each workload: the same rows written into the real schemas (created by the
// real migrations), with the same transactions and prepared statements, and nothing else — no HTTP, no
// JSON, no rules. The sync path can approach these rates, not pass them.

/// A server push without the protocol: per pair of mutations, a case filed (case record, its event,
/// two outcomes) and edited (the case record replaced after reading its old state), 100 mutations per
/// transaction, as `push` sends them.
struct ServerFloor: ParsableCommand {
    @Option var mutations = 40_000
    @Option var batch = 100

    func run() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("server.sqlite").path
        _ = try SQLiteSyncStore(path: path, logger: Logger(label: "bench"))
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let pool = try DatabasePool(path: path, configuration: configuration)
        let caseBody = Data(repeating: 0x61, count: 420)
        let eventBody = Data(repeating: 0x62, count: 170)
        let outcome = Data(repeating: 0x63, count: 50)
        var seq: Int64 = 0
        var mutationId: Int64 = 0
        let start = ContinuousClock.now
        for _ in 0..<(mutations / batch) {
            try pool.write { db in
                let lookup = try RawStatement(db, sql: PushStatements.recordRead)
                let upsert = try RawStatement(db, sql: PushStatements.recordUpsert)
                let record = try RawStatement(db, sql: PushStatements.outcomeInsert)
                func write(_ id: String, _ type: String, _ caseId: String, _ version: Int64, _ body: Data) throws {
                    seq += 1
                    try upsert.bind(id).bind(type).bind(caseId).bind("citizen-1").bind(nil as String?).bind(seq).bind(version)
                        .bind(false).bind(body).bind(Int64(0)).run()
                }
                let ids = (0..<(batch / 2)).map { _ in UUID().uuidString.lowercased() }
                for id in ids {
                    try write(id, "case", id, 1, caseBody)
                    try write(UUID().uuidString.lowercased(), "event", id, 1, eventBody)
                    mutationId += 1
                    try record.bind("client-1").bind(mutationId).bind(outcome).bind(mutationId).run()
                }
                for id in ids {
                    _ = try lookup.bind(id).first { $0.data(8) }
                    try write(id, "case", id, 2, caseBody)
                    mutationId += 1
                    try record.bind("client-1").bind(mutationId).bind(outcome).bind(mutationId).run()
                }
            }
        }
        let elapsed = seconds(since: start)
        report("server_floor", ["mutations": Double(mutationId), "seconds": elapsed, "per_second": Double(mutationId) / elapsed])
    }
}

/// A device applying pulled pages without the protocol: records with random ids upserted into the
/// client's schema, a page of 5,000 per transaction, as `initial-sync` receives them.
struct ClientFloor: ParsableCommand {
    @Option var records = 300_000
    @Option var pageSize = 5_000

    func run() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("device.sqlite").path
        _ = try LocalDatabase(path: path)
        let pool = try DatabasePool(path: path, configuration: LocalDatabase.configuration())
        let bodies = [Data(repeating: 0x61, count: 600), Data(repeating: 0x62, count: 250), Data(repeating: 0x63, count: 250)]
        var written = 0
        let start = ContinuousClock.now
        while written < records {
            let count = min(pageSize, records - written)
            let first = written
            try pool.write { db in
                let upsert = try RawStatement(db, sql: CaseSyncClient.recordUpsert)
                var caseId = ""
                for index in first..<(first + count) {
                    // Each case, then its two events, as the server's sequence has them.
                    let id = UUID().uuidString.lowercased()
                    if index % 3 == 0 { caseId = id }
                    try upsert.bind(id).bind(index % 3 == 0 ? "case" : "event").bind(caseId).bind(Int64(1)).bind(Int64(index + 1))
                        .bind(bodies[index % 3]).bind(Int64(0)).run()
                }
                try db.execute(sql: "UPDATE account SET cursor = ?", arguments: [String(first + count)])
            }
            written += count
        }
        _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        let elapsed = seconds(since: start)
        report("client_floor", ["records": Double(written), "seconds": elapsed, "per_second": Double(written) / elapsed])
    }
}
