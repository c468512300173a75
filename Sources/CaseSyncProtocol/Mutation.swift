/// One change of a field: the value the client saw (`from`, the three-way merge's base) and the
/// value it wants (`to`). A nil value means the field is empty.
public struct FieldChange: Codable, Sendable, Hashable {
    public var field: String
    public var from: String?
    public var to: String?

    public init(field: String, from: String?, to: String?) {
        self.field = field
        self.from = from
        self.to = to
    }

    private enum CodingKeys: String, CodingKey { case field, from, to }

    /// `from` and `to` are always written, as null when empty, so the base of the merge is explicit.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(field, forKey: .field)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
    }
}

/// The content of a new case.
public struct NewCase: Codable, Sendable, Hashable {
    public var kind: CaseKind
    public var authorityId: String
    public var fields: [String: String]

    public init(kind: CaseKind, authorityId: String, fields: [String: String]) {
        self.kind = kind
        self.authorityId = authorityId
        self.fields = fields
    }
}

/// A status change, with the officer-owned fields it sets (hearing date, decision).
public struct StatusTransition: Codable, Sendable, Hashable {
    public var to: CaseStatus
    public var note: String?
    /// Officer-owned fields set together with the transition, e.g. `hearingAt`, `decisionOutcome`.
    public var fields: [String: String]?

    public init(to: CaseStatus, note: String? = nil, fields: [String: String]? = nil) {
        self.to = to
        self.note = note
        self.fields = fields
    }
}

/// A change of a case's decision period by the authority (Awb 7:10), recorded as a timeline event.
public struct DeadlineChange: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        /// Postpone by `weeks` (lid 3; with `consent`, lid 4).
        case postpone
        /// The objector was asked to repair a defect on `effectiveDate` (Awb 6:6); the period stands still.
        case pause
        /// The defect was repaired (or its period lapsed) on `effectiveDate`; the period runs again.
        case resume
    }

    public var action: Action
    public var weeks: Int?
    public var consent: Bool?
    /// For `pause` and `resume`; the server's date when left out.
    public var effectiveDate: CalendarDate?
    public var note: String?

    public init(action: Action, weeks: Int? = nil, consent: Bool? = nil, effectiveDate: CalendarDate? = nil, note: String? = nil) {
        self.action = action
        self.weeks = weeks
        self.consent = consent
        self.effectiveDate = effectiveDate
        self.note = note
    }
}

/// What a mutation does.
public enum MutationOperation: Sendable, Hashable {
    /// Create a case (citizen); the case id is the mutation's `caseId`.
    case create(NewCase)
    /// Change fields, three-way merged against the server.
    case edit([FieldChange])
    /// Move the case to another status, checked against the state machine.
    case transition(StatusTransition)
    /// Append a message; its id is chosen by the client.
    case addMessage(id: String, body: String)
    /// Resolve a conflict record by keeping one of its two values.
    case resolveConflict(conflictId: String, keep: ConflictResolutionChoice)
    /// Delete a case that is still a draft (leaves a tombstone).
    case delete
    /// Postpone or pause the decision period, or let it run again (officer).
    case deadline(DeadlineChange)
    /// Attach a file this account uploaded to the case; the attachment's id is chosen by the client.
    case attach(NewAttachment)

    /// The wire name of the operation (`op`).
    public var name: String {
        switch self {
        case .create: "create"
        case .edit: "edit"
        case .transition: "transition"
        case .addMessage: "add_message"
        case .resolveConflict: "resolve_conflict"
        case .delete: "delete"
        case .deadline: "deadline"
        case .attach: "attach"
        }
    }
}

/// One client mutation. `(clientId, mutationId)` identifies it; mutation ids are gapless per client.
public struct Mutation: Codable, Sendable, Hashable {
    public var mutationId: Int64
    public var caseId: String
    /// The case version the client last saw; nil for `create`.
    public var baseVersion: Int64?
    /// The client's clock when the user made the change.
    public var hlc: HLCTimestamp
    public var operation: MutationOperation

    public init(mutationId: Int64, caseId: String, baseVersion: Int64?, hlc: HLCTimestamp, operation: MutationOperation) {
        self.mutationId = mutationId
        self.caseId = caseId
        self.baseVersion = baseVersion
        self.hlc = hlc
        self.operation = operation
    }

    private enum CodingKeys: String, CodingKey {
        case mutationId, caseId, baseVersion, hlc, op
        case `case`, changes, transition, messageId, body, conflictId, keep, deadline, attachment
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mutationId = try container.decode(Int64.self, forKey: .mutationId)
        caseId = try container.decode(String.self, forKey: .caseId)
        baseVersion = try container.decodeIfPresent(Int64.self, forKey: .baseVersion)
        hlc = try container.decode(HLCTimestamp.self, forKey: .hlc)
        let op = try container.decode(String.self, forKey: .op)
        switch op {
        case "create": operation = .create(try container.decode(NewCase.self, forKey: .case))
        case "edit": operation = .edit(try container.decode([FieldChange].self, forKey: .changes))
        case "transition": operation = .transition(try container.decode(StatusTransition.self, forKey: .transition))
        case "add_message":
            operation = .addMessage(
                id: try container.decode(String.self, forKey: .messageId),
                body: try container.decode(String.self, forKey: .body))
        case "resolve_conflict":
            operation = .resolveConflict(
                conflictId: try container.decode(String.self, forKey: .conflictId),
                keep: try container.decode(ConflictResolutionChoice.self, forKey: .keep))
        case "delete": operation = .delete
        case "deadline": operation = .deadline(try container.decode(DeadlineChange.self, forKey: .deadline))
        case "attach": operation = .attach(try container.decode(NewAttachment.self, forKey: .attachment))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .op, in: container,
                debugDescription: "unknown op \"\(op)\"; expected create, edit, transition, add_message, resolve_conflict, delete, deadline or attach")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mutationId, forKey: .mutationId)
        try container.encode(caseId, forKey: .caseId)
        try container.encodeIfPresent(baseVersion, forKey: .baseVersion)
        try container.encode(hlc, forKey: .hlc)
        try container.encode(operation.name, forKey: .op)
        switch operation {
        case .create(let newCase): try container.encode(newCase, forKey: .case)
        case .edit(let changes): try container.encode(changes, forKey: .changes)
        case .transition(let transition): try container.encode(transition, forKey: .transition)
        case .addMessage(let id, let body):
            try container.encode(id, forKey: .messageId)
            try container.encode(body, forKey: .body)
        case .resolveConflict(let conflictId, let keep):
            try container.encode(conflictId, forKey: .conflictId)
            try container.encode(keep, forKey: .keep)
        case .delete: break
        case .deadline(let change): try container.encode(change, forKey: .deadline)
        case .attach(let attachment): try container.encode(attachment, forKey: .attachment)
        }
    }
}
