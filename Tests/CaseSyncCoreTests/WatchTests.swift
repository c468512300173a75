import CaseSyncProtocol
import Foundation
import Synchronization
import Testing
@testable import CaseSyncCore

/// `CaseSyncClient.watch`: sync, wait for news, sync again; reconnect with backoff while the server is away.
@Suite("Watching for changes")
struct WatchTests {
    @Test func watchReconnectsWithGrowingPausesAndSyncsWhenTheServerHasNews() async throws {
        let change = LocalStoreTests.serverCase(status: .received)
        let transport = ScriptedTransport(
            pull: [
                .success(PullResponse(changes: [], cursor: "0", hasMore: false, checksum: nil)),
                .failure(.unreachable("no signal")), .failure(.unreachable("no signal")), .failure(.unreachable("no signal")),
                .failure(.unreachable("no signal")),
                .success(PullResponse(changes: [change], cursor: "1", hasMore: false, checksum: nil)),
            ],
            wait: [.failure(.unreachable("no signal")), .success(WaitResponse(changed: true))])
        let client = try await LocalStoreTests.loggedIn(transport)
        let events = Mutex<[WatchEvent]>([])
        // (Each event is seen in the watching task, which the fifth one cancels.)
        let watching = Task {
            try await client.watch(transport: transport, seconds: 25) { event in
                let count = events.withLock { $0.append(event); return $0.count }
                if count == 5 { withUnsafeCurrentTask { $0?.cancel() } }
            }
        }
        try await watching.value
        let seen = events.withLock { $0 }
        // The first sync; the wait finds the server gone; so does the sync after it (after its own four
        // tries), a pause twice as long; back, the sync brings the change; the next wait says there is
        // news, and the sync after it brings nothing more.
        guard seen.count == 5, case .synced = seen[0], case .offline(let error, let first) = seen[1], case .offline(_, let second) = seen[2],
              case .synced(let report, let arrived) = seen[3], case .synced(let after, _) = seen[4]
        else {
            Issue.record("unexpected events: \(seen)")
            return
        }
        #expect(error.code == .unreachable)
        #expect(first >= .milliseconds(800) && first <= .milliseconds(1_200))
        #expect(second >= .milliseconds(1_600) && second <= .milliseconds(2_400))
        #expect(report.pulled == 1 && arrived.map(\.id) == ["case-1"])
        #expect(after.pulled == 0)
        #expect(transport.log.withLock { $0.waits } == ["0", "1"])
        #expect(transport.log.withLock { $0.pulls } == [nil, "0", "0", "0", "0", "0", "1"])
    }

    @Test func aSignedOutDeviceStopsWatching() async throws {
        let revoked = ErrorEnvelope.Body(code: .deviceRevoked, message: "revoked", details: ["reason": "revoked"])
        let transport = ScriptedTransport(wait: [.failure(.server(status: 401, error: revoked))])
        let client = try await LocalStoreTests.loggedIn(transport)
        await #expect { try await client.watch(transport: transport) { _ in } } throws: { ($0 as? ClientError)?.code == .signedOut }
        #expect(try client.status().signedOut == "revoked")
    }
}

/// Observation: a screen's value, now and after every change — from local edits and from pulls alike.
@Suite("Observing the local copy")
struct ObservationTests {
    /// The next value of `values` that satisfies `wanted`, waiting at most five seconds.
    static func next<T: Sendable>(
        _ values: AsyncThrowingStream<T, any Error>.AsyncIterator, where wanted: @escaping @Sendable (T) -> Bool
    ) async throws -> (T?, AsyncThrowingStream<T, any Error>.AsyncIterator) {
        nonisolated(unsafe) var iterator = values
        let found = try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                while let value = try await iterator.next() { if wanted(value) { return value } }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(5))
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        return (found, iterator)
    }

    @Test func aPageWrittenThroughSQLitesOwnInterfaceReachesObservers() async throws {
        let client = try await LocalStoreTests.loggedIn(ScriptedTransport())
        let counts = client.observe { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM records") ?? 0 }
        var iterator = counts.makeAsyncIterator()
        #expect(try await iterator.next() == 0)
        let page = RawPullResponse(PullResponse(changes: [LocalStoreTests.serverCase(status: .received)], cursor: "1", hasMore: false, checksum: nil))
        _ = try await client.database.writer.write { db in try CaseSyncClient.apply(page, db: db, repairOnMismatch: false) }
        let (count, _) = try await Self.next(iterator) { $0 == 1 }
        #expect(count == 1, "the observer saw the pulled record")
    }

    @Test func theCaseListAndStatusFollowEditsAndSyncs() async throws {
        let transport = ScriptedTransport(pull: [
            .success(PullResponse(changes: [LocalStoreTests.serverCase(status: .received)], cursor: "1", hasMore: false, checksum: nil)),
        ])
        let client = try await LocalStoreTests.loggedIn(transport)
        var cases = client.observeCases().makeAsyncIterator()
        var status = client.observeStatus().makeAsyncIterator()
        #expect(try await cases.next()?.isEmpty == true)
        #expect(try await status.next()?.pending == 0)
        let filed = try client.createObjection(authorityId: "gm0344", fields: LocalStoreTests.fields, submit: false)
        var (list, rest) = try await Self.next(cases) { $0.count == 1 }
        #expect(list?.map(\.id) == [filed])
        let (pending, _) = try await Self.next(status) { $0.pending == 1 }
        #expect(pending?.pending == 1)
        // (The scripted server acknowledges the draft but pulls back only its own case.)
        try await client.sync(transport: transport)
        (list, rest) = try await Self.next(rest) { $0.contains { $0.id == "case-1" } }
        #expect(list?.map(\.id) == ["case-1"])
        var detail = client.observeCase("case-1").makeAsyncIterator()
        #expect(try await detail.next()?.local.record.status == .received)
    }
}
