import CaseSyncProtocol

/// A case with the version the server gave it and whether it is deleted.
public struct VersionedCase: Sendable, Hashable {
    public var record: CaseRecord
    public var version: Int64
    public var deleted: Bool

    public init(record: CaseRecord, version: Int64, deleted: Bool = false) {
        self.record = record
        self.version = version
        self.deleted = deleted
    }
}

/// Who pushes a mutation.
public struct MutationActor: Sendable, Hashable {
    public var accountId: String
    public var role: ActorRole
    /// The officer's authority; nil for citizens.
    public var authorityId: String?
    public var displayName: String
    public var clientId: String

    public init(accountId: String, role: ActorRole, authorityId: String?, displayName: String, clientId: String) {
        self.accountId = accountId
        self.role = role
        self.authorityId = authorityId
        self.displayName = displayName
        self.clientId = clientId
    }

    /// Whether this actor may see the case at all. Officers do not see a citizen's drafts.
    public func canSee(_ record: CaseRecord) -> Bool {
        switch role {
        case .citizen: record.citizenId == accountId
        case .officer: record.authorityId == authorityId && record.status != .draft
        }
    }

    /// Whether this actor may see a conflict record: only the side whose push produced it.
    public func canSee(_ conflict: ConflictRecord, of record: CaseRecord, raisedBy role: ActorRole) -> Bool {
        canSee(record) && role == self.role
    }
}

/// What the caller looked up for the rules, and the sources of time and identity.
public struct ApplyContext {
    public var now: Timestamp
    public var maxTextLength: Int
    /// The conflict record a `resolve_conflict` names, if it exists.
    public var conflict: ConflictRecord?
    /// The role whose push raised `conflict`.
    public var conflictRaisedBy: ActorRole?
    /// Whether a message with the id an `add_message` names exists already.
    public var messageExists: Bool
    /// Whether any record (not only a case) already has the id a `create` names.
    public var recordIdInUse: Bool = false
    /// For a `create`: whether the register holds the authority it names.
    public var authority: AuthorityStanding = .unchecked
    /// For a `deadline` change: the postponements and pauses the case's timeline holds so far.
    public var deadlineChanges = DecisionPeriodChanges()
    /// For an `attach`: the blob it names, the bytes the case's files hold, and the limits.
    public var attachments = AttachmentContext()
    /// Makes ids for records the rules create (events, conflicts).
    public var makeId: () -> String

    public init(
        now: Timestamp, maxTextLength: Int, conflict: ConflictRecord? = nil, conflictRaisedBy: ActorRole? = nil,
        messageExists: Bool = false, makeId: @escaping () -> String
    ) {
        self.now = now
        self.maxTextLength = maxTextLength
        self.conflict = conflict
        self.conflictRaisedBy = conflictRaisedBy
        self.messageExists = messageExists
        self.makeId = makeId
    }
}

/// What the rules need to know for an `attach`.
public struct AttachmentContext: Sendable, Hashable {
    /// The blob the attachment names, if the acting account uploaded it whole: its size and the type
    /// found by its content.
    public var blob: UploadedBlob?
    /// The bytes the case's live attachments hold together.
    public var caseBytes: Int64 = 0
    public var maxAttachmentBytes: Int64 = ProtocolLimits().maxAttachmentBytes
    public var maxCaseAttachmentBytes: Int64 = ProtocolLimits().maxCaseAttachmentBytes
    public var allowedTypes: [String] = AttachmentRules.defaultTypes

    public init(limits: ProtocolLimits = ProtocolLimits()) {
        maxAttachmentBytes = limits.maxAttachmentBytes
        maxCaseAttachmentBytes = limits.maxCaseAttachmentBytes
        allowedTypes = limits.attachmentTypes
    }
}

/// A blob an account uploaded whole, as the server found it.
public struct UploadedBlob: Sendable, Hashable {
    public var size: Int64
    public var contentType: String

    public init(size: Int64, contentType: String) {
        self.size = size
        self.contentType = contentType
    }
}

/// Whether an authority a new case names is in the register the caller holds.
public enum AuthorityStanding: Sendable, Hashable {
    /// No register was consulted (a device that has none yet).
    case unchecked
    case registered
    /// Not in the register; the closest ones it holds, best first.
    case unknown(suggestions: [Authority])
}

/// What applying one mutation does: its outcome and the records to write.
public struct MutationEffect: Sendable, Hashable {
    public var outcome: MutationOutcome
    /// The case's new state, when it changed (a deleted case is a tombstone).
    public var updatedCase: VersionedCase?
    public var events: [TimelineEvent] = []
    public var messages: [CaseMessage] = []
    public var attachments: [AttachmentRecord] = []
    /// New conflict records, visible to the pushing side.
    public var conflicts: [ConflictRecord] = []
    /// A conflict record that this mutation resolved.
    public var resolvedConflict: ConflictRecord?

    public init(outcome: MutationOutcome, updatedCase: VersionedCase? = nil) {
        self.outcome = outcome
        self.updatedCase = updatedCase
    }

    static func rejected(_ mutation: Mutation, _ violation: RuleViolation) -> MutationEffect {
        MutationEffect(outcome: .rejected(mutation.mutationId, violation.code, violation.message))
    }
}
