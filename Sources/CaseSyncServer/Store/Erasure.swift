import CaseSyncProtocol

/// What erasing a citizen does to their records (GDPR art. 17), decided without the database: records
/// only they saw (drafts, and what belongs to them) are removed outright; records an authority saw become
/// tombstones without content at new places in the authority's scope, so officers' devices drop them on
/// their next pull; tombstones already there lose what tied them to the citizen. The stores then remove
/// the account, its devices, codes and recorded outcomes, and the audit trail's entries about them,
/// keeping one entry that an erasure happened.
public struct ErasurePlan: Sendable {
    /// A record of the citizen's, as stored.
    public struct Stored: Sendable, Hashable {
        public var type: RecordType
        public var id: String
        public var authorityId: String?
        public var version: Int64
        public var deleted: Bool

        public init(type: RecordType, id: String, authorityId: String?, version: Int64, deleted: Bool) {
            self.type = type
            self.id = id
            self.authorityId = authorityId
            self.version = version
            self.deleted = deleted
        }
    }

    /// Ids of records nobody else saw: deleted.
    public private(set) var removed: [String] = []
    /// Live records an authority saw: each becomes a tombstone (`version`: its new version) at a new place.
    public private(set) var tombstones: [(id: String, version: Int64)] = []
    /// Tombstones an authority holds already: their citizen and body are cleared, in place.
    public private(set) var cleared: [String] = []
    /// What each authority's scope loses from its checksum.
    public private(set) var scopes: [String: ScopeDelta] = [:]
    /// The cases erased (their ids, for the audit trail).
    public private(set) var caseIds: [String] = []

    public init(_ records: [Stored]) {
        for record in records.sorted(by: { $0.id < $1.id }) {
            if record.type == .case { caseIds.append(record.id) }
            guard let authority = record.authorityId else {
                removed.append(record.id)
                continue
            }
            if record.deleted {
                cleared.append(record.id)
            } else {
                tombstones.append((record.id, record.version + 1))
                scopes[ScopeKey.authority(authority), default: ScopeDelta()].checksum
                    .remove(type: record.type, id: record.id, version: record.version)
            }
        }
    }

    /// The one audit entry an erasure leaves.
    public func entry(accountId: String, at now: Timestamp) -> AuditEntry {
        var entry = AuditEntry.byOperator(at: now, .accountErased, accountId: accountId)
        entry.outcome = "\(caseIds.count) case(s), \(removed.count + tombstones.count + cleared.count) record(s)"
        return entry
    }

    /// Only citizens are erased: an officer's account is disabled instead (what they did stays on the
    /// cases they did it on).
    public static func checkCitizen(role: String?) throws {
        guard let role else { throw AccountRules.noSuchAccount }
        guard role == ActorRole.citizen.rawValue else {
            throw ServiceError(
                .invalidRequest, "only a citizen's account is erased; disable an officer's instead (casesync-server accounts disable)")
        }
    }
}

/// What an erasure removed.
public struct ErasureReport: Sendable, Hashable {
    public var cases: Int
    public var records: Int
    public var devices: Int

    public init(cases: Int, records: Int, devices: Int) {
        self.cases = cases
        self.records = records
        self.devices = devices
    }
}
