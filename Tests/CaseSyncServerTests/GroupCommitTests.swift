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
        try await Self.until { holding.wait(timeout: .now()) == .success }
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
        try await Self.until { commits.pendingCount == sessions.count }
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
        // 2 is FULL on the writing connection: a commit returns once the write-ahead log is on disk.
        #expect(try await store.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
    }
}

extension GroupCommitTests {
    /// A push whose writes fail after it has written takes back its own writes only, in a group with others.
    @Test func aPushThatFailsAfterWritingTakesBackItsOwnWritesOnly() async throws {
        let database = try DatabaseQueue()
        try await database.write { try $0.execute(sql: "CREATE TABLE written (push INTEGER)") }
        let commits = GroupCommit(writer: database)
        let (holding, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let blocker = Task.detached { try await database.write { _ in holding.signal(); release.wait() } }
        try await Self.until { holding.wait(timeout: .now()) == .success }
        let answers = Task {
            try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for push in 1...3 {
                    group.addTask {
                        do {
                            _ = try await commits.run { db in
                                try db.execute(sql: "INSERT INTO written (push) VALUES (?)", arguments: [push])
                                if push == 2 { throw ServiceError(.invalidRequest, "refused after writing") }
                                return PushResponse(outcomes: [], lastMutationId: Int64(push))
                            }
                            return (push, true)
                        } catch { return (push, false) }
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
        }
        try await Self.until { commits.pendingCount == 3 }
        release.signal()
        try await blocker.value
        #expect(try await answers.value == [1: true, 2: false, 3: true])
        #expect(try await database.read { try Int.fetchAll($0, sql: "SELECT push FROM written ORDER BY push") } == [1, 3])
    }

    /// Waits (10 s at most) until `condition` holds.
    static func until(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        var met = condition()
        while !met, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
            met = condition()
        }
        #expect(met)
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
