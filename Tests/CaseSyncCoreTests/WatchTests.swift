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
