import CaseSyncServer
import Foundation
import Testing

/// The waiting room of `GET /sync/wait`, without a server: who wakes, and when.
@Suite("Waiting devices by scope")
struct ScopeChangesTests {
    @Test func aChangeWakesTheWaitersOfItsScopeOnly() async throws {
        let changes = ScopeChanges()
        async let utrecht = changes.wait(scope: "a:gm0344", timeout: .seconds(20)) { false }
        async let zwolle = changes.wait(scope: "a:gm0193", timeout: .seconds(1)) { false }
        try await LiveUpdateTests.waiting(2, on: changes)
        changes.changed(["a:gm0344", "c:someone"])
        #expect(try await utrecht == .changed)
        #expect(try await zwolle == .timedOut)
        #expect(changes.waiting == 0)
    }

    /// A change that commits after the wait was registered but before it sleeps is not missed.
    @Test func aChangeWhileTheWaitChecksTheStoreWakesIt() async throws {
        let changes = ScopeChanges()
        let woke = try await changes.wait(scope: "c:anna", timeout: .seconds(20)) {
            changes.changed(["c:anna"])
            return false
        }
        #expect(woke == .changed)
    }

    @Test func newsFoundByTheCheckAnswersAtOnce() async throws {
        let changes = ScopeChanges()
        #expect(try await changes.wait(scope: "c:anna", timeout: .seconds(20)) { true } == .changed)
        #expect(changes.waiting == 0)
    }

    @Test func everythingWakesEveryoneAndStoppingEndsEveryWait() async throws {
        let changes = ScopeChanges()
        async let first = changes.wait(scope: "c:anna", timeout: .seconds(20)) { false }
        async let second = changes.wait(scope: "a:gm0344", timeout: .seconds(20)) { false }
        try await LiveUpdateTests.waiting(2, on: changes)
        changes.changedEverything()
        let (woke, alsoWoke) = try await (first, second)
        #expect(woke == .changed && alsoWoke == .changed)
        async let third = changes.wait(scope: "c:anna", timeout: .seconds(20)) { false }
        try await LiveUpdateTests.waiting(1, on: changes)
        changes.close()
        #expect(try await third == .ended)
        #expect(try await changes.wait(scope: "c:anna", timeout: .seconds(20)) { false } == .ended, "no wait begins once stopped")
        #expect(changes.isClosed)
    }

    @Test func aCancelledWaitEndsAndLeavesNothingBehind() async throws {
        let changes = ScopeChanges()
        let waiting = Task { try await changes.wait(scope: "c:anna", timeout: .seconds(20)) { false } }
        try await LiveUpdateTests.waiting(1, on: changes)
        waiting.cancel()
        #expect(try await waiting.value == .ended)
        #expect(changes.waiting == 0)
    }

    /// A device holds two waits at most: a third ends the oldest, so a stolen token cannot pile them up.
    @Test func aDevicesThirdWaitEndsItsOldest() async throws {
        let changes = ScopeChanges()
        async let first = changes.wait(scope: "c:anna", device: "phone", timeout: .seconds(20)) { false }
        try await LiveUpdateTests.waiting(1, on: changes)
        async let second = changes.wait(scope: "c:anna", device: "phone", timeout: .seconds(20)) { false }
        try await LiveUpdateTests.waiting(2, on: changes)
        async let other = changes.wait(scope: "c:anna", device: "laptop", timeout: .seconds(20)) { false }
        try await LiveUpdateTests.waiting(3, on: changes)
        async let third = changes.wait(scope: "c:anna", device: "phone", timeout: .seconds(20)) { false }
        #expect(try await first == .ended)
        #expect(changes.waiting == 3)
        changes.changed(["c:anna"])
        let (a, b, c) = try await (second, other, third)
        #expect([a, b, c] == [.changed, .changed, .changed])
    }

    @Test func aCheckThatFailsEndsTheWait() async throws {
        struct Refused: Error {}
        let changes = ScopeChanges()
        await #expect(throws: Refused.self) { try await changes.wait(scope: "c:anna", timeout: .seconds(20)) { throw Refused() } }
        #expect(changes.waiting == 0)
    }
}
