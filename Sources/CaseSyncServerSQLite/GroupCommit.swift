import CaseSyncProtocol
import CaseSyncServer
import GRDB
import Metrics
import Synchronization

/// Group commit for pushes. SQLite runs with `synchronous = FULL`, so every commit waits for the log
/// to reach the disk, and a push is acknowledged only after that: a power cut cannot take back a filing
/// a device has already dropped from its outbox. To keep the throughput, pushes that arrive while a
/// commit runs wait for it and then share the next transaction — and its one flush — each in a
/// savepoint of its own, so that a refused push takes back only its own writes. Each is answered once,
/// with its own outcomes, after the shared commit; if the commit fails, every push of the group fails
/// (and its device sends it again).
final class GroupCommit: Sendable {
    typealias Work = @Sendable (Database) throws -> PushResponse

    /// Pushes in one transaction at most.
    static let maxGroup = 64
    static let groupSize = Recorder(label: "casesync_push_group_size")

    private struct Waiting {
        let work: Work
        let continuation: CheckedContinuation<PushResponse, any Error>
    }

    private let writer: any DatabaseWriter
    /// Called once a group has committed (the checkpointer counts transactions).
    private let afterCommit: @Sendable () -> Void
    private let state = Mutex<(waiting: [Waiting], committing: Bool, inGroup: Int)>(([], false, 0))

    init(writer: any DatabaseWriter, afterCommit: @escaping @Sendable () -> Void = {}) {
        self.writer = writer
        self.afterCommit = afterCommit
    }

    /// Pushes not answered yet: waiting for a group, or in the one being committed.
    var pendingCount: Int { state.withLock { $0.waiting.count + $0.inGroup } }

    /// Runs `work` in the next group's transaction; returns once that transaction has committed.
    func run(_ work: @escaping Work) async throws -> PushResponse {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state in
                state.waiting.append(Waiting(work: work, continuation: continuation))
                guard !state.committing else { return false }
                state.committing = true
                return true
            }
            if lead { Task { await self.commitWhileWaiting() } }
        }
    }

    /// Commits groups until nobody waits.
    private func commitWhileWaiting() async {
        while true {
            let group = state.withLock { state -> [Waiting] in
                let group = Array(state.waiting.prefix(Self.maxGroup))
                state.waiting.removeFirst(group.count)
                state.inGroup = group.count
                if group.isEmpty { state.committing = false }
                return group
            }
            guard !group.isEmpty else { return }
            Self.groupSize.record(group.count)
            let works = group.map(\.work)
            let results: [Result<PushResponse, any Error>]
            do {
                results = try await writer.write { db in
                    try works.map { work in
                        // An error that ends the whole transaction (a full disk, say) would let a later
                        // push start one of its own and commit alone, while the earlier ones' writes are
                        // gone: the group fails instead, so nothing gone is acknowledged.
                        guard db.isInsideTransaction else { throw GroupCommitError.transactionEnded }
                        return Result {
                            var response: PushResponse?
                            try db.inSavepoint {
                                response = try work(db)
                                return .commit
                            }
                            return response!
                        }
                    }
                }
                afterCommit()
            } catch {
                results = Array(repeating: .failure(error), count: group.count)
            }
            for (waiting, result) in zip(group, results) { waiting.continuation.resume(with: result) }
        }
    }
}

enum GroupCommitError: Error {
    /// SQLite ended the group's transaction in the middle (after an I/O error).
    case transactionEnded
}
