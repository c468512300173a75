import CaseSyncProtocol

/// The rules that turn a mutation into an outcome and records. Pure: the caller looks up the case
/// (and, for some operations, a conflict or message) and writes what comes back.
public enum CaseRules {
    static let notVisible = RuleViolation(.caseNotFound, "no case with this id is visible to you")

    /// Applies `mutation` by `actor` to the current state of its case (nil when the server has none).
    public static func apply(
        _ mutation: Mutation, by actor: MutationActor, to current: VersionedCase?, context: ApplyContext
    ) -> MutationEffect {
        if case .create(let newCase) = mutation.operation {
            return create(mutation, newCase, by: actor, exists: current != nil || context.recordIdInUse, context: context)
        }
        guard let current, !current.deleted, actor.canSee(current.record) else {
            return .rejected(mutation, notVisible)
        }
        // A kind of a later version has rules this build does not know: it shows such a case, never changes it.
        guard current.record.kind.isKnown else {
            return .rejected(mutation, RuleViolation(
                .invalidValue, "this case is of a kind (\(current.record.kind)) this version does not know how to change; update it"))
        }
        switch mutation.operation {
        case .create: preconditionFailure("handled above")
        case .edit(let changes): return edit(mutation, changes, by: actor, current, context: context)
        case .transition(let transition): return move(mutation, transition, by: actor, current, context: context)
        case .addMessage(let id, let body):
            return addMessage(mutation, id: id, body: body, by: actor, current, context: context)
        case .resolveConflict(let conflictId, let keep):
            return resolve(mutation, conflictId: conflictId, keep: keep, by: actor, current, context: context)
        case .delete: return delete(mutation, by: actor, current, context: context)
        case .deadline(let change): return changeDeadline(mutation, change, by: actor, current, context: context)
        case .attach(let attachment): return attach(mutation, attachment, by: actor, current, context: context)
        }
    }

    /// Postpones or pauses the decision period, or lets it run again (Awb 7:10): the authority's
    /// officers only, while the objection is pending; appends the event every device computes from.
    static func changeDeadline(
        _ mutation: Mutation, _ change: DeadlineChange, by actor: MutationActor, _ current: VersionedCase,
        context: ApplyContext
    ) -> MutationEffect {
        func refuse(_ code: ErrorCode, _ message: String) -> MutationEffect { .rejected(mutation, RuleViolation(code, message)) }
        guard actor.role == .officer else {
            return refuse(.forbiddenForRole, "only the authority postpones or pauses its decision period")
        }
        switch current.record.status {
        case .submitted, .received, .inReview, .hearingScheduled: break
        default:
            return refuse(.invalidTransition, "the decision period can only change while the objection is pending (it is \(current.record.status.rawValue))")
        }
        if let note = change.note, note.isLonger(than: 2_000) { return refuse(.invalidValue, "a note is at most 2,000 bytes") }
        let today = CalendarDate(amsterdam: context.now)
        if let date = change.effectiveDate, date > today { return refuse(.invalidValue, "effectiveDate cannot be in the future") }
        let changes = context.deadlineChanges
        var event = TimelineEvent(
            id: context.makeId(), caseId: current.record.id, type: .postponed, at: context.now,
            actorRole: actor.role, actorName: actor.displayName,
            note: change.note)
        switch change.action {
        case .postpone:
            guard let weeks = change.weeks, (1...52).contains(weeks) else {
                return refuse(.invalidValue, "a postponement needs weeks, 1 to 52")
            }
            let consent = change.consent ?? false
            let cap = StatutoryDeadlines.maxPostponementWeeksWithoutConsent
            if !consent, changes.weeksWithoutConsent + weeks > cap {
                return refuse(
                    .invalidValue,
                    "Awb 7:10 lid 3 allows at most \(cap) weeks of postponement without the objector's consent (\(changes.weeksWithoutConsent) used); record their consent to postpone further (lid 4)")
            }
            event.weeks = weeks
            event.consent = consent
        case .pause:
            if let since = changes.pausedSince { return refuse(.invalidTransition, "the decision period is paused already (since \(since))") }
            event.type = .paused
            event.effectiveDate = change.effectiveDate ?? today
        case .resume:
            guard let since = changes.pausedSince else { return refuse(.invalidTransition, "the decision period is not paused") }
            let date = change.effectiveDate ?? today
            if date < since { return refuse(.invalidValue, "the period cannot run again before it was paused (\(since))") }
            event.type = .resumed
            event.effectiveDate = date
        }
        var effect = MutationEffect(outcome: MutationOutcome(mutationId: mutation.mutationId, status: .applied, version: current.version))
        effect.events.append(event)
        return effect
    }

    static func create(
        _ mutation: Mutation, _ newCase: NewCase, by actor: MutationActor, exists: Bool, context: ApplyContext
    ) -> MutationEffect {
        guard actor.role == .citizen else {
            return .rejected(mutation, RuleViolation(.forbiddenForRole, "only citizens file cases"))
        }
        guard !exists else { return .rejected(mutation, RuleViolation(.caseExists, "a case with this id exists already")) }
        guard !newCase.authorityId.isBlank, !newCase.authorityId.isLonger(than: 100) else {
            return .rejected(mutation, RuleViolation(.invalidValue, "authorityId must name the authority (at most 100 characters)"))
        }
        if case .unknown(let suggestions) = context.authority {
            return .rejected(mutation, RuleViolation.unknownAuthority(newCase.authorityId, suggestions: suggestions))
        }
        if let violation = validateFields(newCase.fields, by: actor, status: .draft, context: context) {
            return .rejected(mutation, violation)
        }
        for field in CaseField.allCases where field.isRequired && newCase.fields[field.rawValue] == nil {
            return .rejected(mutation, RuleViolation(.invalidValue, "a new \(newCase.kind.rawValue) needs \(field.rawValue)"))
        }
        let record = CaseRecord(
            id: mutation.caseId, kind: newCase.kind, authorityId: newCase.authorityId, citizenId: actor.accountId,
            status: .draft, fields: newCase.fields,
            clocks: clocks(for: newCase.fields.keys, at: mutation.hlc), createdAt: context.now, updatedAt: context.now)
        var effect = MutationEffect(
            outcome: MutationOutcome(mutationId: mutation.mutationId, status: .applied, version: 1),
            updatedCase: VersionedCase(record: record, version: 1))
        effect.events.append(
            TimelineEvent(
                id: context.makeId(), caseId: record.id, type: .created, at: context.now,
                actorRole: actor.role, actorName: actor.displayName,
                status: .draft))
        return effect
    }

    /// Clock readings for the clocked ones among `fields` (see `CaseField.isClocked`).
    static func clocks(for fields: some Sequence<String>, at clock: HLCTimestamp) -> [String: HLCTimestamp] {
        var clocks: [String: HLCTimestamp] = [:]
        for name in fields where CaseField(rawValue: name)?.isClocked == true { clocks[name] = clock }
        return clocks
    }

    /// Checks field names, ownership, locks and values of a set of fields a role writes.
    static func validateFields(
        _ fields: [String: String?], by actor: MutationActor, status: CaseStatus, context: ApplyContext
    ) -> RuleViolation? {
        for name in fields.keys.sorted() {
            guard let field = CaseField(rawValue: name) else {
                return RuleViolation(.unknownField, "\(name) is not a field of a case")
            }
            if let violation = field.ownershipViolation(for: actor.role) ?? field.lockViolation(in: status)
                ?? field.validate(fields[name] ?? nil, maxTextLength: context.maxTextLength)
            {
                return violation
            }
        }
        return nil
    }

    static func validateFields(
        _ fields: [String: String], by actor: MutationActor, status: CaseStatus, context: ApplyContext
    ) -> RuleViolation? {
        validateFields(fields.mapValues { Optional($0) }, by: actor, status: status, context: context)
    }

    static func edit(
        _ mutation: Mutation, _ changes: [FieldChange], by actor: MutationActor, _ current: VersionedCase,
        context: ApplyContext
    ) -> MutationEffect {
        guard !changes.isEmpty else { return .rejected(mutation, RuleViolation(.invalidRequest, "an edit needs at least one change")) }
        guard Set(changes.map(\.field)).count == changes.count else {
            return .rejected(mutation, RuleViolation(.invalidRequest, "an edit names each field once"))
        }
        let requested = Dictionary(uniqueKeysWithValues: changes.map { ($0.field, $0.to) })
        if let violation = validateFields(requested, by: actor, status: current.record.status, context: context) {
            return .rejected(mutation, violation)
        }
        var record = current.record
        var conflicts: [FieldConflict] = []
        var changed = false
        for change in changes {
            let field = CaseField(rawValue: change.field)!
            let merged = FieldMerge.merge(
                field: field, base: change.from, client: change.to, clientClock: mutation.hlc,
                server: record.fields[change.field], serverClock: record.clocks[change.field])
            if let conflict = merged.conflict { conflicts.append(conflict) }
            guard merged.changed else { continue }
            changed = true
            record.fields[change.field] = merged.value
            if field.isClocked { record.clocks[change.field] = merged.clock }
        }
        return finish(mutation, by: actor, current, record: changed ? record : nil, conflicts: conflicts, context: context)
    }

    /// Builds the effect of a mutation that may change the case and may raise conflicts.
    static func finish(
        _ mutation: Mutation, by actor: MutationActor, _ current: VersionedCase, record: CaseRecord?,
        conflicts: [FieldConflict], context: ApplyContext
    ) -> MutationEffect {
        var effect = MutationEffect(
            outcome: MutationOutcome(
                mutationId: mutation.mutationId, status: conflicts.isEmpty ? .applied : .merged,
                version: current.version, conflicts: conflicts.isEmpty ? nil : conflicts))
        if var record {
            record.updatedAt = context.now
            effect.updatedCase = VersionedCase(record: record, version: current.version + 1)
            effect.outcome.version = current.version + 1
        }
        effect.conflicts = conflicts.map {
            ConflictRecord(
                id: context.makeId(), caseId: current.record.id, conflict: $0, clientId: actor.clientId,
                mutationId: mutation.mutationId, createdAt: context.now)
        }
        return effect
    }

    static func move(
        _ mutation: Mutation, _ transition: StatusTransition, by actor: MutationActor, _ current: VersionedCase,
        context: ApplyContext
    ) -> MutationEffect {
        let from = current.record.status
        let fields = transition.fields ?? [:]
        if from == transition.to, from != .hearingScheduled {
            // Someone made the same move first (two officers deciding at once, say). The status stays;
            // the fields the move carries merge like edits whose base was empty, so differing values
            // are resolved by their policy and recorded as conflicts, and the timeline gets no repeat.
            let changes = fields.keys.sorted().map { FieldChange(field: $0, from: nil, to: fields[$0]) }
            guard !changes.isEmpty else { return finish(mutation, by: actor, current, record: nil, conflicts: [], context: context) }
            return edit(mutation, changes, by: actor, current, context: context)
        }
        if let violation = CaseStateMachine.violation(from: from, to: transition.to, role: actor.role, fields: fields)
            ?? validateFields(fields, by: actor, status: transition.to, context: context)
        {
            return .rejected(mutation, violation)
        }
        if let note = transition.note, note.isLonger(than: 2_000) {
            return .rejected(mutation, RuleViolation(.invalidValue, "a note is at most 2,000 bytes"))
        }
        var record = current.record
        var changed = record.status != transition.to
        record.status = transition.to
        for (name, value) in fields where record.fields[name] != value {
            record.fields[name] = value
            if CaseField(rawValue: name)?.isClocked == true { record.clocks[name] = mutation.hlc }
            changed = true
        }
        guard changed else { return finish(mutation, by: actor, current, record: nil, conflicts: [], context: context) }
        var effect = finish(mutation, by: actor, current, record: record, conflicts: [], context: context)
        let type: TimelineEventType =
            switch transition.to {
            case .hearingScheduled: .hearingScheduled
            case .decided: .decided
            default: .statusChanged
            }
        effect.events.append(
            TimelineEvent(
                id: context.makeId(), caseId: record.id, type: type, at: context.now,
                actorRole: actor.role, actorName: actor.displayName,
                status: transition.to, note: transition.note))
        return effect
    }

    static func addMessage(
        _ mutation: Mutation, id: String, body: String, by actor: MutationActor, _ current: VersionedCase,
        context: ApplyContext
    ) -> MutationEffect {
        guard !context.messageExists else {
            return .rejected(mutation, RuleViolation(.messageExists, "a message with this id exists already"))
        }
        guard !id.isEmpty, !id.isLonger(than: 100) else { return .rejected(mutation, RuleViolation(.invalidValue, "messageId must be 1 to 100 bytes")) }
        guard !body.isBlank, !body.isLonger(than: context.maxTextLength) else {
            return .rejected(
                mutation, RuleViolation(.invalidValue, "a message must have text, at most \(context.maxTextLength) bytes"))
        }
        guard current.record.status != .draft else {
            return .rejected(mutation, RuleViolation(.invalidTransition, "submit the case before sending messages about it"))
        }
        var effect = MutationEffect(
            outcome: MutationOutcome(mutationId: mutation.mutationId, status: .applied, version: current.version))
        effect.messages.append(
            CaseMessage(
                id: id, caseId: current.record.id, authorRole: actor.role, authorName: actor.displayName, body: body,
                sentAt: context.now))
        return effect
    }

    static func resolve(
        _ mutation: Mutation, conflictId: String, keep: ConflictResolutionChoice, by actor: MutationActor,
        _ current: VersionedCase, context: ApplyContext
    ) -> MutationEffect {
        guard var conflict = context.conflict, conflict.id == conflictId, conflict.caseId == current.record.id,
              let raisedBy = context.conflictRaisedBy, actor.canSee(conflict, of: current.record, raisedBy: raisedBy)
        else {
            return .rejected(mutation, RuleViolation(.conflictNotFound, "no conflict with this id is visible to you on this case"))
        }
        guard conflict.resolution == nil else {
            // Resolved already (by another device of the same side): nothing more to do.
            return finish(mutation, by: actor, current, record: nil, conflicts: [], context: context)
        }
        let value = keep == .mine ? conflict.conflict.clientValue : conflict.conflict.serverValue
        var record: CaseRecord?
        if current.record.fields[conflict.conflict.field] != value {
            if let violation = validateFields(
                [conflict.conflict.field: value], by: actor, status: current.record.status, context: context)
            {
                return .rejected(mutation, violation)
            }
            var updated = current.record
            updated.fields[conflict.conflict.field] = value
            if CaseField(rawValue: conflict.conflict.field)?.isClocked == true {
                updated.clocks[conflict.conflict.field] = mutation.hlc
            }
            record = updated
        }
        var effect = finish(mutation, by: actor, current, record: record, conflicts: [], context: context)
        conflict.resolution = keep
        effect.resolvedConflict = conflict
        return effect
    }

    static func delete(
        _ mutation: Mutation, by actor: MutationActor, _ current: VersionedCase, context: ApplyContext
    ) -> MutationEffect {
        guard actor.role == .citizen else {
            return .rejected(mutation, RuleViolation(.forbiddenForRole, "only the citizen can delete their draft"))
        }
        guard current.record.status == .draft else {
            return .rejected(
                mutation, RuleViolation(.invalidTransition, "only a draft can be deleted; withdraw a submitted case instead"))
        }
        var effect = finish(mutation, by: actor, current, record: current.record, conflicts: [], context: context)
        effect.updatedCase?.deleted = true
        return effect
    }
}
