import CaseSyncProtocol
import CaseSyncServer
@testable import CaseSyncServerSQLite
import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing

/// Durable acknowledgements on SQLite: every commit waits for the disk, and pushes that arrive
/// together share one commit, each still answered with its own outcomes.
@Suite("Group commit on SQLite")
struct GroupCommitTests {
    @Test func pushesThatArriveTogetherShareOneCommitAndARefusedOneTakesBackOnlyItsOwn() async throws {
        let server = try TestServer()
        let store = try #require(server.store as? SQLiteSyncStore)
        let commits = try #require(store.commits)
        var devices: [Session] = []
        for index in 0..<9 {
            let device = try await server.device(.citizen, name: "Citizen \(index)")
            devices.append(try #require(try await store.session(token: device.token)))
        }
        let counter = CommitCounter()
        try await store.writer.write { db in db.add(transactionObserver: counter, extent: .databaseLifetime) }

        // The writer is held while the pushes arrive: they wait for it together.
        let (holding, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let blocker = Task.detached { try await store.writer.write { _ in holding.signal(); release.wait() } }
        holding.wait()
        let sessions = devices
        let pushes = Task {
            try await withThrowingTaskGroup(of: (Int, Result<PushResponse, any Error>).self) { group in
                for (index, session) in sessions.enumerated() {
                    // The fifth device numbers its first mutation 5: refused whole (a gap), inside the group.
                    let first: Int64 = index == 4 ? 5 : 1
                    let request = PushRequest(stamping: session.clientId, mutations: [
                        .create(first, caseId: testId("case", by: session.clientId)), .submit(first + 1, caseId: testId("case", by: session.clientId)),
                    ])
                    group.addTask {
                        do { return (index, .success(try await store.push(request, session: session))) } catch { return (index, .failure(error)) }
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while commits.pendingCount < devices.count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(commits.pendingCount == devices.count)
        let before = counter.commits
        release.signal()
        try await blocker.value
        let results = try await pushes.value

        // The held write, then the nine pushes in one transaction or two (whichever push came first
        // may have taken the writer alone, before the others arrived): never one each.
        let groups = counter.commits - before - 1
        #expect((1...2).contains(groups), "\(groups) commits for nine pushes")
        for (index, session) in devices.enumerated() {
            let page = try await store.pull(after: 0, limit: 100, session: session)
            if index == 4 {
                guard case .failure(let error) = results[index], let refusal = error as? ServiceError else {
                    Issue.record("the push with a gap was not refused: \(String(describing: results[index]))")
                    continue
                }
                #expect(refusal.code == .mutationGap)
                #expect(page.changes.isEmpty, "a refused push left \(page.changes.count) changes behind")
            } else {
                let response = try #require(try results[index]?.get())
                #expect(response.outcomes.map(\.status) == [.applied, .applied])
                #expect(response.lastMutationId == 2)
                #expect(page.changes.contains { $0.type == .case && $0.version == 2 })
            }
        }
    }

    @Test func aStoreOnAFileFlushesTheLogAtEveryCommit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteSyncStore(path: directory.appendingPathComponent("casesync.sqlite").path, logger: quietLogger)
        // 2 is FULL: a commit returns once the write-ahead log is on disk.
        #expect(try await store.writer.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
        #expect(try await store.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
        #expect(store.commits != nil)
    }
}

/// Counts the commits of a database.
final class CommitCounter: TransactionObserver, Sendable {
    private let count = Mutex(0)
    var commits: Int { count.withLock { $0 } }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseDidCommit(_ db: Database) { count.withLock { $0 += 1 } }
    func databaseDidRollback(_ db: Database) {}
}
