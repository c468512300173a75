import CaseSyncProtocol

extension CaseRules {
    /// Attaches a file to a case: by either side, while the case is open (a citizen's draft too), once
    /// the acting account has uploaded the file whole. Size and type are the server's findings, never
    /// the device's word; the file and the case's files together stay within the limits.
    static func attach(
        _ mutation: Mutation, _ attachment: NewAttachment, by actor: MutationActor, _ current: VersionedCase,
        context: ApplyContext
    ) -> MutationEffect {
        func refuse(_ code: ErrorCode, _ message: String) -> MutationEffect { .rejected(mutation, RuleViolation(code, message)) }
        let limits = context.attachments
        guard !context.recordIdInUse else { return refuse(.invalidValue, "a record with this attachment id exists already") }
        if let problem = AttachmentRules.nameProblem(attachment.name) { return refuse(.invalidValue, problem) }
        guard AttachmentRules.isDigest(attachment.sha256) else { return refuse(.invalidValue, "sha256 must be 64 lower-case hex digits") }
        switch current.record.status {
        case .closed, .withdrawn:
            return refuse(.invalidTransition, "the case is \(current.record.status.rawValue): no more files can be added")
        default: break
        }
        guard let blob = limits.blob else {
            return refuse(.blobMissing, "the file has not been uploaded whole yet; sync again to send it")
        }
        guard limits.allowedTypes.contains(blob.contentType) else {
            return refuse(
                .attachmentTypeNotAllowed,
                "this file is not one of the types a case may hold (\(limits.allowedTypes.joined(separator: ", "))); send a photo or a PDF")
        }
        guard blob.size <= limits.maxAttachmentBytes else {
            return refuse(.attachmentTooLarge, "a file may be at most \(limits.maxAttachmentBytes) bytes; this one is \(blob.size)")
        }
        guard limits.caseBytes + blob.size <= limits.maxCaseAttachmentBytes else {
            return refuse(
                .attachmentTooLarge,
                "the files of a case may hold at most \(limits.maxCaseAttachmentBytes) bytes together; this case holds \(limits.caseBytes) and the file is \(blob.size)")
        }
        var effect = MutationEffect(
            outcome: MutationOutcome(mutationId: mutation.mutationId, status: .applied, version: current.version))
        effect.attachments.append(
            AttachmentRecord(
                id: attachment.id, caseId: current.record.id, sha256: attachment.sha256, name: attachment.name, size: blob.size,
                contentType: blob.contentType, addedByRole: actor.role, addedByName: actor.displayName, addedAt: context.now))
        return effect
    }
}
