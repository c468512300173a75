import CaseSyncProtocol

/// Checks of a push that need no database: the client id, the batch size, gapless ids, and clock
/// readings that are this device's and not ahead of the server's clock, and ids of new records in
/// this device's part of the id space.
enum PushValidation {
    static func check(_ request: PushRequest, session: Session, limits: ProtocolLimits, now: Timestamp) throws {
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
        // `first.mutationId` is at least 1 and the count at most the batch limit: the distance never overflows.
        for (index, mutation) in request.mutations.enumerated() where mutation.mutationId &- first.mutationId != Int64(index) {
            throw ServiceError(
                .invalidRequest, "mutation ids in a push must be consecutive; mutation \(index) has id \(mutation.mutationId)")
        }
        let latest = now.millisecondsSince1970 + limits.maxClockSkewMillis
        for (index, mutation) in request.mutations.enumerated() {
            guard mutation.hlc.node == session.clientId else {
                throw ServiceError(
                    .invalidRequest, "mutations[\(index)].hlc must end in this device's clientId (the node of its clock)")
            }
            if let (name, id) = createdId(mutation), !CreatedId.isCreated(id, by: session.clientId) {
                throw ServiceError(
                    .invalidRequest,
                    "mutations[\(index)].\(name) must be an id this device created: a lower-case UUID of version 8 ending in its tag \(CreatedId.tag(of: session.clientId))")
            }
            guard mutation.hlc.millis <= latest else {
                throw ServiceError(
                    .clockAhead,
                    "mutations[\(index)].hlc is more than \(limits.maxClockSkewMillis / 1000) seconds ahead of the server's clock; set this device's clock right (the server's time is in details.serverTime)",
                    details: [
                        "serverTime": now.description, "maxClockSkewMillis": String(limits.maxClockSkewMillis),
                        "mutationId": String(mutation.mutationId),
                    ])
            }
        }
    }

    /// The id a mutation gives a record it creates, and where it stands.
    private static func createdId(_ mutation: Mutation) -> (String, String)? {
        switch mutation.operation {
        case .create: ("caseId", mutation.caseId)
        case .addMessage(let id, _): ("messageId", id)
        case .attach(let attachment): ("attachment.id", attachment.id)
        default: nil
        }
    }

    /// At most how many bytes of text a mutation can add to its case's records: what a citizen's
    /// storage is checked against before it is applied (`maxAccountBytes`).
    static func storageGrowth(of operation: MutationOperation) -> Int64 {
        let overhead = 256
        let bytes: Int =
            switch operation {
            case .create(let newCase): newCase.fields.reduce(overhead) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            case .edit(let changes): changes.reduce(0) { $0 + max(0, ($1.to?.utf8.count ?? 0) - ($1.from?.utf8.count ?? 0)) }
            case .transition(let transition):
                (transition.fields ?? [:]).values.reduce(transition.note?.utf8.count ?? 0) { $0 + $1.utf8.count }
            case .addMessage(_, let body): overhead + body.utf8.count
            case .deadline(let change): overhead + (change.note?.utf8.count ?? 0)
            case .attach(let attachment): overhead + attachment.name.utf8.count
            case .resolveConflict, .delete: 0
            }
        return Int64(bytes)
    }

    static func gap(expected: Int64, got: Int64) -> ServiceError {
        ServiceError(
            .mutationGap, "the server expects mutation \(expected) next but the push starts at \(got); resend from \(expected)",
            details: ["expectedMutationId": String(expected)])
    }
}
