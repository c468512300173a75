import CaseSyncProtocol

/// The three-way merge of one field: the value the client saw (base), the value it wants, and the
/// value the server holds now. Pure; used by the server to apply a push and by the client to rebase
/// its pending edits over newly pulled state, so both always agree.
public enum FieldMerge {
    public struct Result: Sendable, Hashable {
        /// The value the field holds after the merge.
        public var value: String?
        /// The clock reading stored with the field after the merge.
        public var clock: HLCTimestamp?
        /// True when the merged value differs from the server's.
        public var changed: Bool
        /// Set when both sides changed the field to different values.
        public var conflict: FieldConflict?
    }

    public static func merge(
        field: CaseField, base: String?, client: String?, clientClock: HLCTimestamp,
        server: String?, serverClock: HLCTimestamp?
    ) -> Result {
        if server == base {
            // Only the client changed it (or nobody did).
            let changed = client != server
            return Result(value: client, clock: changed ? clientClock : serverClock, changed: changed, conflict: nil)
        }
        if server == client {
            // Both sides made the same change.
            return Result(value: server, clock: max(serverClock ?? .zero, clientClock), changed: false, conflict: nil)
        }
        let clientWins: Bool
        switch field.policy {
        case .sharedLastWriterWins, .officerOwned:
            clientWins = clientClock > (serverClock ?? .zero)
        case .citizenProse:
            clientWins = false
        }
        let conflict = FieldConflict(
            field: field.rawValue, policy: field.policy, winner: clientWins ? .client : .server,
            clientValue: client, serverValue: server)
        return clientWins
            ? Result(value: client, clock: clientClock, changed: true, conflict: conflict)
            : Result(value: server, clock: serverClock, changed: false, conflict: conflict)
    }
}
