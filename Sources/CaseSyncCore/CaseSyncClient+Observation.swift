import CaseSyncProtocol
import Foundation
import GRDB

/// What a screen shows, as it changes: each sequence yields the value now, then a fresh one after every
/// change to what it read — from a local edit or from a pull alike — until the consumer stops iterating.
/// Values are read off the caller's thread (GRDB's observation, on the cooperative pool).
extension CaseSyncClient {
    /// The case list (as `cases()`).
    public func observeCases() -> AsyncThrowingStream<[LocalCase], any Error> {
        observe { db in try Self.casePage(db, CaseQuery()).cases }
    }

    /// A page of cases as a screen shows it (as `cases(_:)`): filtered, in order, counted.
    public func observeCases(_ query: CaseQuery) -> AsyncThrowingStream<CasePage, any Error> {
        observe { db in try Self.casePage(db, query) }
    }

    /// One case in full (as `detail(caseId:)`): its timeline, messages, deadlines' inputs, pending
    /// edits, conflicts and refusals. Ends with `notFound` if the case goes.
    public func observeCase(_ caseId: String) -> AsyncThrowingStream<CaseDetail, any Error> {
        observe { db in try detail(caseId: caseId, db) }
    }

    /// Where sync stands (as `status()`): pending, refused, conflicts, the last sync and its error.
    public func observeStatus() -> AsyncThrowingStream<SyncStatus, any Error> {
        observe { db in try Self.status(db) }
    }

    /// How far this device's running sync has come (in this process): the newest figures now and after
    /// each pushed batch and pulled page; nil while no sync runs.
    public func observeSyncProgress() -> AsyncStream<SyncProgress?> {
        database.progress.stream()
    }

    /// The values of `read`, now and after every committed change to the tables it read.
    func observe<T: Sendable>(_ read: @escaping @Sendable (Database) throws -> T) -> AsyncThrowingStream<T, any Error> {
        // Every write of this library keeps the case index current; one from before (or built by other
        // rules) is brought up to date first.
        do { try refreshCaseIndex() } catch { return AsyncThrowingStream { $0.finish(throwing: error) } }
        // A screen wants the latest value, not every one a long pull went through.
        let values = ValueObservation.tracking(read).values(in: database.writer, bufferingPolicy: .bufferingNewest(1))
        return AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let task = Task {
                do {
                    for try await value in values { continuation.yield(value) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
