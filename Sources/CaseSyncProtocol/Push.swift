/// `POST /sync/push`: the client's next mutations, in mutation-id order.
public struct PushRequest: Codable, Sendable, Hashable {
    public var clientId: String
    public var mutations: [Mutation]

    public init(clientId: String, mutations: [Mutation]) {
        self.clientId = clientId
        self.mutations = mutations
    }
}

/// The result of one mutation.
public struct MutationOutcome: Codable, Sendable, Hashable {
    public enum Status: String, Codable, Sendable, Hashable, CaseIterable {
        /// Applied as sent.
        case applied
        /// Applied, but fields that both sides changed were resolved by their policy (see `conflicts`).
        case merged
        /// Not applied; `code` and `message` say why. Nothing of it was written.
        case rejected
    }

    public var mutationId: Int64
    public var status: Status
    /// The case version after the mutation, for applied and merged outcomes.
    public var version: Int64?
    public var conflicts: [FieldConflict]?
    public var code: ErrorCode?
    public var message: String?

    public init(
        mutationId: Int64, status: Status, version: Int64? = nil, conflicts: [FieldConflict]? = nil,
        code: ErrorCode? = nil, message: String? = nil
    ) {
        self.mutationId = mutationId
        self.status = status
        self.version = version
        self.conflicts = conflicts
        self.code = code
        self.message = message
    }

    public static func rejected(_ mutationId: Int64, _ code: ErrorCode, _ message: String) -> MutationOutcome {
        MutationOutcome(mutationId: mutationId, status: .rejected, code: code, message: message)
    }

    /// The outcome as the server keeps it for a repeated mutation: the same, but its conflicts name
    /// field, policy and winner without the values (which live on in the case's conflict records, and
    /// go with the case when it is erased or disposed of).
    public var kept: MutationOutcome {
        guard let conflicts else { return self }
        var kept = self
        kept.conflicts = conflicts.map { FieldConflict(field: $0.field, policy: $0.policy, winner: $0.winner, clientValue: nil, serverValue: nil) }
        return kept
    }
}

/// The answer to a push: one outcome per mutation, in order, and the last mutation id the server
/// has recorded for this client.
public struct PushResponse: Codable, Sendable, Hashable {
    public var outcomes: [MutationOutcome]
    public var lastMutationId: Int64

    public init(outcomes: [MutationOutcome], lastMutationId: Int64) {
        self.outcomes = outcomes
        self.lastMutationId = lastMutationId
    }
}

/// `POST /auth/redeem`: trade a one-time login code for a device token.
public struct RedeemRequest: Codable, Sendable, Hashable {
    public var code: String
    public var deviceName: String?

    public init(code: String, deviceName: String?) {
        self.code = code
        self.deviceName = deviceName
    }
}

/// Who a token belongs to.
public struct AccountInfo: Codable, Sendable, Hashable {
    public var id: String
    public var role: ActorRole
    public var authorityId: String?
    public var displayName: String

    public init(id: String, role: ActorRole, authorityId: String?, displayName: String) {
        self.id = id
        self.role = role
        self.authorityId = authorityId
        self.displayName = displayName
    }
}

/// The device token (shown once; the server keeps only its hash) and the device's client id.
public struct RedeemResponse: Codable, Sendable, Hashable {
    public var token: String
    public var clientId: String
    public var account: AccountInfo

    public init(token: String, clientId: String, account: AccountInfo) {
        self.token = token
        self.clientId = clientId
        self.account = account
    }
}
