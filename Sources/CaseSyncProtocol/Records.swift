/// Who acts: a citizen on their own cases, or an officer of an authority.
public enum ActorRole: String, Codable, Sendable, Hashable, CaseIterable {
    case citizen
    case officer
}

/// Where a case stands in the objection procedure.
public enum CaseStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case draft
    case submitted
    case received
    case inReview = "in_review"
    case hearingScheduled = "hearing_scheduled"
    case decided
    case closed
    case withdrawn
}

/// The kind of case. Objections (bezwaar) first; more kinds follow additively, so the name is open: a
/// device shows a case of a kind it does not know as it is, and only files kinds it knows.
public struct CaseKind: OpenName {
    public let rawValue: String
    public init(unchecked name: String) { rawValue = name }

    public static let objection = CaseKind(unchecked: "objection")
    public static let known: [CaseKind] = [.objection]
}

/// A case as the server holds it. Its editable content lives in `fields` (names declared by
/// `CaseField` in the domain); a client keeps fields it does not know, so the schema can grow.
public struct CaseRecord: Codable, Sendable, Hashable {
    public var id: String
    public var kind: CaseKind
    public var authorityId: String
    public var citizenId: String
    public var status: CaseStatus
    /// Field name → value. A field that is absent has no value.
    public var fields: [String: String]
    /// Field name → clock reading of the write that set it (used by last-writer-wins fields).
    public var clocks: [String: HLCTimestamp]
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: String, kind: CaseKind, authorityId: String, citizenId: String, status: CaseStatus,
        fields: [String: String], clocks: [String: HLCTimestamp], createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.kind = kind
        self.authorityId = authorityId
        self.citizenId = citizenId
        self.status = status
        self.fields = fields
        self.clocks = clocks
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The type of a timeline event. Open: a device shows an event of a type it does not know by its name
/// and leaves it out of the deadlines it computes.
public struct TimelineEventType: OpenName {
    public let rawValue: String
    public init(unchecked name: String) { rawValue = name }

    public static let created = TimelineEventType(unchecked: "created")
    public static let statusChanged = TimelineEventType(unchecked: "status_changed")
    public static let hearingScheduled = TimelineEventType(unchecked: "hearing_scheduled")
    public static let decided = TimelineEventType(unchecked: "decided")
    /// The authority postponed its decision (Awb 7:10 lid 3, or lid 4 with consent): `weeks`, `consent`.
    public static let postponed = TimelineEventType(unchecked: "postponed")
    /// The decision period stands still: the objector was asked to repair a defect (Awb 6:6, 7:10 lid 2)
    /// on `effectiveDate`.
    public static let paused = TimelineEventType(unchecked: "paused")
    /// The defect was repaired (or its repair period lapsed) on `effectiveDate`; the period runs again.
    public static let resumed = TimelineEventType(unchecked: "resumed")
    public static let known: [TimelineEventType] = [
        .created, .statusChanged, .hearingScheduled, .decided, .postponed, .paused, .resumed,
    ]
}

/// One entry of a case's timeline; append-only, written by the server.
public struct TimelineEvent: Codable, Sendable, Hashable {
    public var id: String
    public var caseId: String
    public var type: TimelineEventType
    public var at: Timestamp
    public var actorRole: ActorRole
    /// The name of the person who acted (an officer's, so that the citizen sees who received, postponed
    /// or decided); absent in events recorded before names were.
    public var actorName: String?
    /// The status the case moved to, for status changes.
    public var status: CaseStatus?
    /// A short free-text note by the actor.
    public var note: String?
    /// For `postponed`: by how many weeks, and whether the objector consented.
    public var weeks: Int?
    public var consent: Bool?
    /// For `paused` and `resumed`: the day it happened (it may be recorded later).
    public var effectiveDate: CalendarDate?

    public init(
        id: String, caseId: String, type: TimelineEventType, at: Timestamp, actorRole: ActorRole, actorName: String? = nil,
        status: CaseStatus? = nil, note: String? = nil, weeks: Int? = nil, consent: Bool? = nil,
        effectiveDate: CalendarDate? = nil
    ) {
        self.id = id
        self.caseId = caseId
        self.type = type
        self.at = at
        self.actorRole = actorRole
        self.actorName = actorName
        self.status = status
        self.note = note
        self.weeks = weeks
        self.consent = consent
        self.effectiveDate = effectiveDate
    }
}

/// A message between citizen and authority on a case; append-only.
public struct CaseMessage: Codable, Sendable, Hashable {
    public var id: String
    public var caseId: String
    public var authorRole: ActorRole
    public var authorName: String
    public var body: String
    public var sentAt: Timestamp

    public init(id: String, caseId: String, authorRole: ActorRole, authorName: String, body: String, sentAt: Timestamp) {
        self.id = id
        self.caseId = caseId
        self.authorRole = authorRole
        self.authorName = authorName
        self.body = body
        self.sentAt = sentAt
    }
}

/// How a field that both sides changed was resolved.
public enum FieldPolicy: String, Codable, Sendable, Hashable, CaseIterable {
    /// Status and decision fields: only officers write them; between officers, last writer wins.
    case officerOwned = "officer_owned"
    /// Contact details: last writer wins by hybrid logical clock, the loser kept as a conflict.
    case sharedLastWriterWins = "shared_lww"
    /// The citizen's prose: the server copy is kept, the citizen's copy becomes a conflict to resolve.
    case citizenProse = "citizen_prose"
}

/// Which side's value a merge kept.
public enum MergeWinner: String, Codable, Sendable, Hashable, CaseIterable {
    case server
    case client
}

/// A field both sides changed, and what the merge made of it.
public struct FieldConflict: Codable, Sendable, Hashable {
    public var field: String
    public var policy: FieldPolicy
    public var winner: MergeWinner
    /// The value the pushing client wrote.
    public var clientValue: String?
    /// The value the server held when the mutation arrived.
    public var serverValue: String?

    public init(field: String, policy: FieldPolicy, winner: MergeWinner, clientValue: String?, serverValue: String?) {
        self.field = field
        self.policy = policy
        self.winner = winner
        self.clientValue = clientValue
        self.serverValue = serverValue
    }
}

/// A kept loser of a merge, visible to the side whose value lost, until it is resolved.
public struct ConflictRecord: Codable, Sendable, Hashable {
    public var id: String
    public var caseId: String
    public var conflict: FieldConflict
    /// The client and mutation whose push produced the conflict.
    public var clientId: String
    public var mutationId: Int64
    public var createdAt: Timestamp
    /// Set once resolved: which value was kept.
    public var resolution: ConflictResolutionChoice?

    public init(
        id: String, caseId: String, conflict: FieldConflict, clientId: String, mutationId: Int64,
        createdAt: Timestamp, resolution: ConflictResolutionChoice? = nil
    ) {
        self.id = id
        self.caseId = caseId
        self.conflict = conflict
        self.clientId = clientId
        self.mutationId = mutationId
        self.createdAt = createdAt
        self.resolution = resolution
    }
}

/// The choice made when resolving a conflict.
public enum ConflictResolutionChoice: String, Codable, Sendable, Hashable, CaseIterable {
    /// The value the pushing client wrote (`clientValue`).
    case mine
    /// The value the server held (`serverValue`).
    case theirs
}
