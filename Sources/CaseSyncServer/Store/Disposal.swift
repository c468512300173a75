import CaseSyncProtocol

/// The retention of closed cases, an operator's setting (`casesync-server compact --closed-case-days N`):
/// a case closed or withdrawn, on which nothing changed for N days, is disposed of. Every live record of
/// it becomes a tombstone without content at a new place in each scope that saw it, so the citizen's and
/// the officers' devices drop the case on their next pull, and its old tombstones lose any content they
/// kept. The audit trail keeps what was done to the case (it holds no content) and one entry that it was
/// disposed of; compaction removes the tombstones later, as any others.
public struct DisposalPlan: Sendable {
    /// A record of a case that may be disposed of, as stored.
    @dynamicMemberLookup
    public struct Stored: Sendable, Hashable {
        public var row: RecordRow
        /// The bytes its body holds (counted in its citizen's storage).
        public var bytes: Int64
        public var changedAt: Int64
        /// A case's status, as stored.
        public var status: String?

        public init(_ row: RecordRow, bytes: Int64, changedAt: Int64, status: String?) {
            self.row = row
            self.bytes = bytes
            self.changedAt = changedAt
            self.status = status
        }

        public subscript<T>(dynamicMember keyPath: KeyPath<RecordRow, T>) -> T { row[keyPath: keyPath] }
    }

    /// The statuses a case ends in; only such a case is disposed of.
    public static let finalStatuses: [CaseStatus] = [.closed, .withdrawn]

    /// Live records of the cases disposed of: each becomes a tombstone (`version`: its new version) at a new place.
    public private(set) var tombstones: [(id: String, version: Int64)] = []
    /// Tombstones of the cases already there: their content is cleared, in place.
    public private(set) var cleared: [String] = []
    /// What each scope loses: live records from its checksum, bodies from a citizen's bytes.
    public private(set) var scopes: [String: ScopeDelta] = [:]
    /// The cases disposed of.
    public private(set) var caseIds: [String] = []

    /// `records`: every record of the cases that may be disposed of, read after their case rows were
    /// locked. A case with any record changed at or after `horizon`, or no longer in a final status, stays.
    public init(_ records: [Stored], horizon: Int64) {
        let final = Set(Self.finalStatuses.map(\.rawValue))
        for (caseId, group) in Dictionary(grouping: records, by: { $0.caseId }).sorted(by: { $0.key < $1.key }) {
            guard let record = group.first(where: { $0.type == .case && $0.id == caseId }), !record.deleted,
                  final.contains(record.status ?? ""), group.allSatisfy({ $0.changedAt < horizon })
            else { continue }
            caseIds.append(caseId)
            for record in group.sorted(by: { $0.id < $1.id }) {
                if let citizen = record.citizenId { scopes[ScopeKey.citizen(citizen), default: ScopeDelta()].bytes -= record.bytes }
                if record.deleted {
                    if record.bytes > 0 { cleared.append(record.id) }
                    continue
                }
                tombstones.append((record.id, record.version + 1))
                for scope in ScopeKey.of(citizenId: record.citizenId, authorityId: record.authorityId) {
                    scopes[scope, default: ScopeDelta()].checksum.remove(type: record.type, id: record.id, version: record.version)
                }
            }
        }
    }

    /// The oldest last change a case may have and be disposed of, for a retention in days.
    public static func horizon(closedCaseDays days: Int, now: Timestamp) throws -> Int64 {
        guard days >= 1 else { throw ServiceError(.invalidRequest, "closed cases are kept at least one day") }
        return now.millisecondsSince1970 - Int64(days) * 86_400_000
    }

    /// One audit entry for each case disposed of.
    public func entries(closedCaseDays days: Int, at now: Timestamp) -> [AuditEntry] {
        caseIds.map { caseId in
            var entry = AuditEntry.byOperator(at: now, .caseDisposed)
            (entry.caseId, entry.outcome) = (caseId, "closed and unchanged for \(days) days")
            return entry
        }
    }

    public var report: DisposalReport { DisposalReport(cases: caseIds.count, records: tombstones.count + cleared.count) }
}

/// What a disposal of closed cases did.
public struct DisposalReport: Sendable, Hashable {
    public var cases: Int
    public var records: Int

    public init(cases: Int, records: Int) {
        self.cases = cases
        self.records = records
    }
}
