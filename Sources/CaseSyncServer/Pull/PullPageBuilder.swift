import CaseSyncProtocol

/// A pull, decided without a database: whether a cursor is one the scope's history can answer, and
/// which changes a page carries. A store reads the scope's facts and its changes after the cursor in
/// one snapshot, and offers them to a `PullPageBuilder` in order until it is full.
public struct PullPageBuilder: Sendable {
    /// A scope's state at the pull's snapshot.
    public struct ScopeFacts: Sendable, Hashable {
        /// The newest tombstone compaction dropped from the scope (0 if none).
        public var horizon: Int64
        /// The scope's latest change (0 if none).
        public var latest: Int64
        public var checksum: StateChecksum

        public init(horizon: Int64, latest: Int64, checksum: StateChecksum) {
            self.horizon = horizon
            self.latest = latest
            self.checksum = checksum
        }
    }

    /// What a change adds to a page besides its record: its envelope (seq, type, ids, version).
    public static let changeOverheadBytes = 200

    public let cursor: Int64
    public let facts: ScopeFacts
    let limit: Int
    let maxPageBytes: Int
    private(set) var changes: [RawPullResponse.Change] = []
    private var bytes = 0
    private var hasMore = false
    private let fromStart: Bool

    /// Checks the cursor against the scope: only the caller's own scope is consulted, so neither the
    /// cursor nor these checks tell anything about other people's cases. A record's seq only grows and
    /// it never leaves its scope, so a genuine cursor is never past the scope's latest change (or its
    /// compaction horizon, which a cursor may reach once the tombstones below it are gone).
    /// `fromStart`: the cursor continues a pull that began at the start (`continuation`), which needs
    /// no tombstone and so may stand below the horizon.
    public init(cursor: Int64, fromStart: Bool = false, limit: Int, maxPageBytes: Int, facts: ScopeFacts) throws {
        guard cursor <= max(facts.latest, facts.horizon) else {
            throw ServiceError(.resyncRequired, "this cursor is not from this server's history; pull again from the start")
        }
        guard cursor == 0 || fromStart || cursor >= facts.horizon else {
            throw ServiceError(
                .resyncRequired, "deletions older than this cursor were compacted away; pull again from the start",
                details: ["compactedThrough": String(facts.horizon)])
        }
        self.cursor = cursor
        self.fromStart = fromStart || cursor == 0
        self.limit = limit
        self.maxPageBytes = maxPageBytes
        self.facts = facts
    }

    /// Whether there is anything after the cursor: the common "anything new?" sync reads no rows at all.
    public var needsRows: Bool { cursor < facts.latest }

    /// How many rows a store reads at most: one past the page tells whether more follow.
    public var rowLimit: Int { limit + 1 }

    /// Offers the next change in seq order; false once the page is full (stop reading). A page stops
    /// at `limit` changes or before the change that would take it past `maxPageBytes` (it always
    /// carries one), so no page makes the server hold more than the budget.
    public mutating func offer(_ change: RawPullResponse.Change) -> Bool {
        bytes += Self.changeOverheadBytes + (change.data?.count ?? 0)
        if changes.count == limit || (!changes.isEmpty && bytes > maxPageBytes) {
            hasMore = true
            return false
        }
        changes.append(change)
        return true
    }

    /// The answer. The last page moves the cursor past the compaction horizon, so the next pull is
    /// incremental; only the last page carries the scope's checksum.
    public var response: RawPullResponse {
        guard hasMore else {
            let newCursor = max(changes.last?.seq ?? cursor, facts.horizon)
            return RawPullResponse(changes: changes, cursor: String(newCursor), hasMore: false, checksum: facts.checksum)
        }
        // A pull from the start whose page ends below the horizon goes on with a cursor that says so.
        let last = changes.last!.seq
        let cursor = fromStart && last < facts.horizon ? Self.continuation(last) : String(last)
        return RawPullResponse(changes: changes, cursor: cursor, hasMore: true, checksum: nil)
    }

    /// The cursor of a pull from the start that has reached `seq`, below the compaction horizon:
    /// `c` and the place. Cursors are opaque to devices (PROTOCOL.md §10).
    public static func continuation(_ seq: Int64) -> String { "c" + String(seq) }

    /// A cursor's place, and whether it continues a pull from the start; nil for text that is neither.
    public static func parse(cursor text: Substring) -> (seq: Int64, fromStart: Bool)? {
        if text.first == "c" { return Int64(text.dropFirst()).flatMap { $0 > 0 ? ($0, true) : nil } }
        return Int64(text).flatMap { $0 >= 0 ? ($0, false) : nil }
    }
}
