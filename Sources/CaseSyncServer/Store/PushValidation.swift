import CaseSyncProtocol

/// Checks of a push that need no database: the client id, the batch size and gapless ids.
enum PushValidation {
    static func check(_ request: PushRequest, session: Session, limits: ProtocolLimits) throws {
        guard request.clientId == session.clientId else {
            throw ServiceError(.clientMismatch, "clientId does not belong to this device's token")
        }
        guard request.mutations.count <= limits.maxMutationsPerPush else {
            throw ServiceError(
                .batchTooLarge, "a push carries at most \(limits.maxMutationsPerPush) mutations; send the rest in another push",
                details: ["maxMutationsPerPush": String(limits.maxMutationsPerPush)])
        }
        guard let first = request.mutations.first else { return }
        guard first.mutationId >= 1 else { throw ServiceError(.invalidRequest, "mutation ids start at 1") }
        for (index, mutation) in request.mutations.enumerated() where mutation.mutationId != first.mutationId + Int64(index) {
            throw ServiceError(
                .invalidRequest, "mutation ids in a push must be consecutive; mutation \(index) has id \(mutation.mutationId)")
        }
    }

    static func gap(expected: Int64, got: Int64) -> ServiceError {
        ServiceError(
            .mutationGap, "the server expects mutation \(expected) next but the push starts at \(got); resend from \(expected)",
            details: ["expectedMutationId": String(expected)])
    }
}
