import CaseSyncCore
import CaseSyncProtocol
import Testing

/// The sync engine's decisions, without a network, a database or a clock: events in, actions out.
@Suite("Sync state machines")
struct SyncStateMachineTests {
    // MARK: One request

    @Test func aRequestIsTriedAgainWithGrowingWaitsThenGivenUp() {
        var retry = RequestRetry(policy: RetryPolicy(maxAttempts: 4, initialDelay: .milliseconds(250), maxDelay: .seconds(1)))
        #expect(retry.failed(.unreachable) == .retry(after: .milliseconds(250)))
        #expect(retry.failed(.unavailable(retryAfter: nil)) == .retry(after: .milliseconds(500)))
        #expect(retry.failed(.unreachable) == .retry(after: .seconds(1)))
        #expect(retry.failed(.unreachable) == .giveUp, "four attempts in all")
        #expect(retry.attempt == 4)
    }

    @Test func aServersRetryAfterIsFollowedUpToALimit() {
        var retry = RequestRetry(policy: RetryPolicy())
        #expect(retry.failed(.unavailable(retryAfter: .seconds(30))) == .retry(after: .seconds(30)))
        #expect(retry.failed(.unavailable(retryAfter: .seconds(3_600))) == .retry(after: RequestRetry.longestHint))
        #expect(retry.failed(.unavailable(retryAfter: .milliseconds(1))) == .retry(after: RetryPolicy().delay(beforeAttempt: 4)),
                "a hint shorter than the backoff does not shorten it")
    }

    @Test(arguments: [SyncFailure.refused, .clockAhead, .resyncRequired])
    func whatNoWaitingMendsIsNotTriedAgain(failure: SyncFailure) {
        var retry = RequestRetry(policy: RetryPolicy())
        #expect(retry.failed(failure) == .giveUp)
    }

    @Test func transportErrorsAreToldApart() {
        func body(_ code: ErrorCode, _ details: [String: String]? = nil) -> ErrorEnvelope.Body {
            ErrorEnvelope.Body(code: code, message: "m", details: details)
        }
        #expect(SyncFailure(.unreachable("refused")) == .unreachable)
        #expect(SyncFailure(.server(status: 503, error: body(.internalError))) == .unavailable(retryAfter: nil))
        #expect(SyncFailure(.server(status: 429, error: body(.rateLimited, ["retryAfterSeconds": "7"]))) == .unavailable(retryAfter: .seconds(7)))
        #expect(SyncFailure(.server(status: 409, error: body(.clockAhead))) == .clockAhead)
        #expect(SyncFailure(.server(status: 410, error: body(.resyncRequired))) == .resyncRequired)
        #expect(SyncFailure(.server(status: 400, error: body(.invalidRequest))) == .refused)
        #expect(SyncFailure(.invalidResponse("html")) == .refused)
    }

    // MARK: One sync

    @Test func theOutboxGoesBatchByBatchThenPagesArePulledUntilCurrent() {
        var machine = SyncStateMachine(repairing: false)
        #expect(machine.start == .push)
        #expect(machine.handle(.pushed(outboxEmpty: false)) == .push)
        #expect(machine.handle(.pushed(outboxEmpty: true)) == .pull)
        #expect(machine.handle(.pageApplied(hasMore: true, checksumAgrees: true)) == .pull)
        #expect(machine.handle(.pageApplied(hasMore: false, checksumAgrees: true)) == .finish)
        #expect(!machine.repaired)
    }

    @Test func aPullAloneStartsWithThePull() {
        let machine = SyncStateMachine(repairing: false, sending: false)
        #expect(machine.start == .pull)
    }

    @Test func aClockAheadIsCorrectedOnceThenTheFailureStands() {
        var machine = SyncStateMachine(repairing: false)
        #expect(machine.handle(.failed(.clockAhead)) == .correctClock)
        #expect(machine.handle(.clockCorrected(true)) == .push)
        #expect(machine.handle(.failed(.clockAhead)) == .fail(.clockStillAhead))

        var uncorrectable = SyncStateMachine(repairing: false)
        #expect(uncorrectable.handle(.failed(.clockAhead)) == .correctClock)
        #expect(uncorrectable.handle(.clockCorrected(false)) == .fail(.clockStillAhead))
    }

    @Test func aCompactedCursorBeginsOneRepullOnly() {
        var machine = SyncStateMachine(repairing: false)
        _ = machine.handle(.pushed(outboxEmpty: true))
        #expect(machine.handle(.failed(.resyncRequired)) == .beginRepair)
        #expect(machine.repaired && machine.repairing)
        #expect(machine.handle(.failed(.resyncRequired)) == .fail(.failure(.resyncRequired)), "a second one during the re-pull stands")
    }

    @Test func aChecksumThatDisagreesRepullsOnceThenFails() {
        var machine = SyncStateMachine(repairing: false)
        _ = machine.handle(.pushed(outboxEmpty: true))
        #expect(machine.repairsOnMismatch)
        #expect(machine.handle(.pageApplied(hasMore: false, checksumAgrees: false)) == .pull)
        #expect(!machine.repairsOnMismatch, "the re-pull's own disagreement is final")
        #expect(machine.handle(.pageApplied(hasMore: true, checksumAgrees: true)) == .pull)
        #expect(machine.handle(.pageApplied(hasMore: false, checksumAgrees: false)) == .fail(.stillDisagrees))
    }

    @Test func aRepullCutOffBeforeGoesOnAndIsReported() {
        var machine = SyncStateMachine(repairing: true)
        #expect(machine.repaired && !machine.repairsOnMismatch)
        _ = machine.handle(.pushed(outboxEmpty: true))
        #expect(machine.handle(.pageApplied(hasMore: false, checksumAgrees: true)) == .finish)
    }

    @Test(arguments: [SyncFailure.unreachable, .unavailable(retryAfter: nil), .refused])
    func aFailureAfterItsRetriesEndsTheSync(failure: SyncFailure) {
        var pushing = SyncStateMachine(repairing: false)
        #expect(pushing.handle(.failed(failure)) == .fail(.failure(failure)))
        var pulling = SyncStateMachine(repairing: false, sending: false)
        #expect(pulling.handle(.failed(failure)) == .fail(.failure(failure)))
    }

    // MARK: Staying in sync

    @Test func aWatchSyncsWaitsAndSyncsAgainOnNewsOrEdits() {
        var machine = WatchStateMachine(backoff: RetryPolicy(maxAttempts: .max, initialDelay: .seconds(1), maxDelay: .seconds(60)))
        #expect(machine.start == .sync)
        #expect(machine.handle(.synced) == .wait)
        #expect(machine.handle(.waited(changed: false, pending: false)) == .wait, "a wait that timed out is held again")
        #expect(machine.handle(.waited(changed: true, pending: false)) == .sync)
        #expect(machine.handle(.synced) == .wait)
        #expect(machine.handle(.waited(changed: false, pending: true)) == .sync, "an edit made meanwhile is sent")
    }

    @Test func aWatchBacksOffWhileTheServerIsAwayAndStartsOverAfter() {
        var machine = WatchStateMachine(backoff: RetryPolicy(maxAttempts: .max, initialDelay: .seconds(1), maxDelay: .seconds(60)))
        let delays = (0..<8).map { _ -> Duration in
            guard case .sleep(let delay, let spread) = machine.handle(.failed(.unreachable)), spread == 0.2 else { return .zero }
            #expect(machine.handle(.slept) == .sync)
            return delay
        }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60].map { .seconds($0) })
        #expect(machine.handle(.synced) == .wait)
        #expect(machine.failures == 0)
        #expect(machine.handle(.failed(.unavailable(retryAfter: nil))) == .sleep(.seconds(1), spread: 0.2), "the backoff starts over")
    }

    @Test func aWatchStopsForWhatNoWaitingMends() {
        var machine = WatchStateMachine(backoff: RetryPolicy())
        #expect(machine.handle(.failed(.refused)) == .stop(.refused))
        #expect(SyncFailure(ClientError(.signedOut, "revoked")) == .refused)
        #expect(SyncFailure(ClientError(.unavailable, "busy")) == .unavailable(retryAfter: nil))
    }
}
