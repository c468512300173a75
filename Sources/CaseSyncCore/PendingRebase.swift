import CaseSyncDomain
import CaseSyncProtocol

/// Rebases a case's pending mutations over the server state this device last pulled, with the same
/// rules the server applies, so what the user sees is what the server will make of it.
public enum PendingRebase {
    public struct Result: Sendable, Hashable {
        /// The case as it will be once the pending mutations are applied (nil: no case, or deleted).
        public var visible: VersionedCase?
        /// The predicted outcome of each pending mutation, in order.
        public var predictions: [MutationOutcome]
        /// Messages the pending mutations add.
        public var messages: [CaseMessage]
        /// Timeline events the pending mutations add (deadline changes), as predicted.
        public var events: [TimelineEvent] = []
        /// Files the pending mutations attach, as predicted (waiting to be sent).
        public var attachments: [AttachmentRecord] = []
    }

    public static func rebase(
        server: VersionedCase?, pending: [PendingMutation], actor: MutationActor,
        conflicts: [String: ConflictRecord], maxTextLength: Int, events: [TimelineEvent] = [],
        files: [String: UploadedBlob] = [:], caseFileBytes: Int64 = 0
    ) -> Result {
        var state = server
        var predictions: [MutationOutcome] = []
        var messages: [CaseMessage] = []
        var added: [TimelineEvent] = []
        var attachments: [AttachmentRecord] = []
        for edit in pending {
            let mutation = edit.mutation
            // Each edit shows as made when it was made (its times do not move each time the case is read).
            var context = ApplyContext(now: edit.createdAt, maxTextLength: maxTextLength, makeId: { "pending" })
            if case .resolveConflict(let id, _) = mutation.operation {
                context.conflict = conflicts[id]
                context.conflictRaisedBy = actor.role
            }
            if case .addMessage(let id, _) = mutation.operation {
                context.messageExists = messages.contains { $0.id == id }
            }
            if case .deadline = mutation.operation {
                context.deadlineChanges = DecisionPeriodChanges(events: events + added)
            }
            // A file is checked as this device found it (the server finds size and type again).
            if case .attach(let attachment) = mutation.operation {
                context.attachments.blob = files[attachment.sha256]
                context.attachments.caseBytes = caseFileBytes + attachments.reduce(0) { $0 + $1.size }
                context.recordIdInUse = attachments.contains { $0.id == attachment.id }
            }
            let effect = CaseRules.apply(mutation, by: actor, to: state, context: context)
            predictions.append(effect.outcome)
            if let updated = effect.updatedCase { state = updated }
            messages += effect.messages
            attachments += effect.attachments
            if effect.outcome.status != .rejected, case .deadline = mutation.operation { added += effect.events }
        }
        if state?.deleted == true { state = nil }
        return Result(visible: state, predictions: predictions, messages: messages, events: added, attachments: attachments)
    }
}
