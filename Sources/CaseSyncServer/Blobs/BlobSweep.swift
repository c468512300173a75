import CaseSyncProtocol
import Logging

/// Deletes the blobs nothing refers to any more: no live attachment names them and no upload not yet
/// attached holds them (an upload attached once lets its account attach the file again, as long as the
/// file is kept: it goes with the file). Candidates come from deletions (a draft deleted, a case
/// disposed of, a citizen erased: `SyncStore.queuedSweeps`) and from uploads that expired; with
/// `everything`, every blob held is a candidate (after a crash between a deletion and its sweep).
public struct BlobSweep: Sendable {
    public let store: any SyncStore
    /// How long an upload may stay unattached: a device uploads before it pushes the `attach`, which may
    /// wait for the device's next sync.
    public static let uploadExpiry: Int64 = 7 * 24 * 3_600_000

    public init(store: any SyncStore) {
        self.store = store
    }

    /// What a sweep did.
    public struct Report: Sendable, Hashable {
        public var blobsDeleted = 0
        public var uploadsExpired = 0
        public init() {}
    }

    /// Sweeps the blobs deletions released.
    @discardableResult
    public func sweepQueued() async throws -> Report {
        var report = Report()
        while true {
            let queued = try await store.queuedSweeps(limit: 500)
            if queued.isEmpty { return report }
            report.blobsDeleted += try await delete(unused: queued)
            try await store.dequeueSweeps(queued)
        }
    }

    /// Expires uploads older than `uploadExpiry` and sweeps what they and deletions released; with
    /// `everything`, every blob held too.
    @discardableResult
    public func collect(now: Timestamp, everything: Bool = false) async throws -> Report {
        let expired = try await store.expireUploads(before: Timestamp(millisecondsSince1970: now.millisecondsSince1970 - Self.uploadExpiry))
        for upload in expired { try await store.blobs.discard(upload) }
        var report = try await sweepQueued()
        report.uploadsExpired = expired.count
        var candidates = Set(expired.map(\.sha256))
        if everything { candidates.formUnion(try await store.blobs.list()) }
        report.blobsDeleted += try await delete(unused: candidates)
        return report
    }

    /// Deletes those of `candidates` nothing refers to; returns how many.
    private func delete(unused candidates: Set<String>) async throws -> Int {
        var deleted = 0
        let all = Array(candidates)
        for start in stride(from: 0, to: all.count, by: 500) {
            let batch = Set(all[start..<min(start + 500, all.count)])
            let unused = batch.subtracting(try await store.blobsInUse(batch))
            try await store.forgetUploads(of: unused)
            for sha256 in unused where try await store.blobs.size(of: sha256) != nil {
                try await store.blobs.delete(sha256)
                deleted += 1
            }
        }
        return deleted
    }
}
