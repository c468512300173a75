import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncSQLite
import Foundation
import GRDB

/// Writes records inside one SQLite write transaction: gives each write the next place in the
/// change sequence and keeps every scope's running checksum in step, and each citizen's count of the
/// bytes their records hold, tombstones included (the storage limit, `maxAccountBytes`).
struct RecordWriter {
    let db: Database
    private(set) var nextSeq: Int64
    private var digestDeltas: [String: ChecksumAccumulator] = [:]
    private var byteDeltas: [String: Int64] = [:]

    /// When the writes happen (kept per record, for the compaction horizon).
    let now: Timestamp

    private let lookup: RawStatement
    private let upsert: RawStatement

    init(_ db: Database, now: Timestamp) throws {
        self.db = db
        self.now = now
        self.nextSeq = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM records") ?? 0) + 1
        lookup = try RawStatement(db, sql: PushStatements.recordLookup)
        upsert = try RawStatement(db, sql: PushStatements.recordUpsert)
    }

    static func scope(citizen id: String) -> String { "c:" + id }
    static func scope(authority id: String) -> String { "a:" + id }

    /// What the writer knows of a record's stored state before it writes the new one.
    enum Prior {
        /// Nothing: it looks the record up.
        case unknown
        /// The id is unused (a fresh event, message or conflict, or a case being filed).
        case none
        /// The stored row, as the caller read it in this transaction (saves looking it up again).
        case known(citizenId: String?, authorityId: String?, version: Int64, deleted: Bool, bytes: Int)
    }

    /// Writes one record's new state (insert or replace). Returns the bytes of its body.
    @discardableResult
    mutating func write(
        _ type: RecordType, id: String, caseId: String, citizenId: String?, authorityId: String?, version: Int64,
        deleted: Bool, prior: Prior = .unknown, body: some JSONWritable
    ) throws -> Int {
        try write(
            type, id: id, caseId: caseId, citizenId: citizenId, authorityId: authorityId, version: version,
            deleted: deleted, prior: prior, bodyData: body.jsonBytes)
    }

    /// Writes one record's new state from its already-encoded body. Returns the bytes of the body.
    @discardableResult
    mutating func write(
        _ type: RecordType, id: String, caseId: String, citizenId: String?, authorityId: String?, version: Int64,
        deleted: Bool, prior: Prior = .unknown, bodyData data: some ContiguousBytes
    ) throws -> Int {
        var old: (citizenId: String?, authorityId: String?, version: Int64, deleted: Bool, bytes: Int)?
        switch prior {
        case .none: old = nil
        case .known(let citizenId, let authorityId, let version, let deleted, let bytes):
            old = (citizenId, authorityId, version, deleted, bytes)
        case .unknown:
            old = try lookup.bind(id).first {
                (citizenId: $0.string(0), authorityId: $0.string(1), version: $0.int64(2), deleted: $0.int64(3) != 0,
                 bytes: Int($0.int64(4)))
            }
        }
        if let old, !old.deleted {
            for scope in Self.scopes(citizenId: old.citizenId, authorityId: old.authorityId) {
                digestDeltas[scope, default: ChecksumAccumulator()].remove(type: type, id: id, version: old.version)
            }
        }
        let bytes = data.withUnsafeBytes(\.count)
        // Tombstones hold their body until compaction drops them, so they count as well.
        if let citizen = old?.citizenId { byteDeltas[Self.scope(citizen: citizen), default: 0] -= Int64(old!.bytes) }
        if let citizenId { byteDeltas[Self.scope(citizen: citizenId), default: 0] += Int64(bytes) }
        // What the server stores must read back strictly (checked in debug builds, which the tests run).
        assert(data.withUnsafeBytes { (try? WireCoding.validate($0)) != nil }, "a stored record body is not strict JSON")
        try upsert.bind(id).bind(type.rawValue).bind(caseId).bind(citizenId).bind(authorityId).bind(nextSeq).bind(version)
            .bind(deleted).bind(data).bind(now.millisecondsSince1970).run()
        nextSeq += 1
        if !deleted {
            for scope in Self.scopes(citizenId: citizenId, authorityId: authorityId) {
                digestDeltas[scope, default: ChecksumAccumulator()].add(type: type, id: id, version: version)
            }
        }
        return bytes
    }

    private static func scopes(citizenId: String?, authorityId: String?) -> [String] {
        [citizenId.map(scope(citizen:)), authorityId.map(scope(authority:))].compactMap { $0 }
    }

    /// Adds this transaction's checksum and byte changes to the stored ones (wrapping arithmetic for
    /// the checksum, in Swift: SQLite would turn an overflowing sum into a float).
    mutating func flushDigests() throws {
        for scope in Set(digestDeltas.keys).union(byteDeltas.keys) {
            let delta = digestDeltas[scope] ?? ChecksumAccumulator()
            let row = try Row.fetchOne(db, sql: "SELECT count, sum, bytes FROM scope_digests WHERE scope = ?", arguments: [scope])
            let count = (row?["count"] as Int64? ?? 0) + delta.count
            let sum = UInt64(bitPattern: row?["sum"] as Int64? ?? 0) &+ delta.sum
            let bytes = (row?["bytes"] as Int64? ?? 0) + byteDeltas[scope, default: 0]
            try db.execute(
                sql: """
                    INSERT INTO scope_digests (scope, count, sum, bytes) VALUES (?, ?, ?, ?)
                    ON CONFLICT(scope) DO UPDATE SET count = excluded.count, sum = excluded.sum, bytes = excluded.bytes
                    """,
                arguments: [scope, count, Int64(bitPattern: sum), bytes])
        }
        digestDeltas = [:]
        byteDeltas = [:]
    }

    /// The bytes a citizen's records hold (tombstones until compaction included), as of the last flush.
    static func storedBytes(_ db: Database, citizen id: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT bytes FROM scope_digests WHERE scope = ?", arguments: [scope(citizen: id)]) ?? 0
    }
}

/// The statements a push runs for every mutation (public so that the benchmark's SQLite floor runs
/// exactly these).
public enum PushStatements {
    public static let recordLookup = "SELECT citizen_id, authority_id, version, deleted, length(body) FROM records WHERE id = ?"
    /// Arguments: id, type, case_id, citizen_id, authority_id, seq, version, deleted, body, changed_at.
    public static let recordUpsert = """
        INSERT INTO records (id, type, case_id, citizen_id, authority_id, seq, version, deleted, body, changed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET citizen_id = excluded.citizen_id, authority_id = excluded.authority_id,
            seq = excluded.seq, version = excluded.version, deleted = excluded.deleted, body = excluded.body,
            changed_at = excluded.changed_at
        """
    /// Arguments: client_id, mutation_id, outcome, fingerprint.
    public static let outcomeInsert = "INSERT INTO mutation_outcomes (client_id, mutation_id, outcome, fingerprint) VALUES (?, ?, ?, ?)"
}

/// Who may see the records that belong to a case.
extension CaseRecord {
    /// The authority sees a case and its events and messages once it is no longer a draft.
    var authorityVisibility: String? { status == .draft ? nil : authorityId }
}
