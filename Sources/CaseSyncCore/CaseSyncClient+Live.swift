import CaseSyncProtocol
import Foundation
import GRDB

/// What `CaseSyncClient.watch` reports as it goes.
public enum WatchEvent: Sendable {
    /// A sync finished; `arrived`: the records it brought or changed, in the server's order (records it
    /// removed are counted in the report only).
    case synced(SyncReport, arrived: [StoredRecord])
    /// The server could not be reached, or was too busy: the next attempt comes after `retryIn`.
    case offline(ClientError, retryIn: Duration)
}

/// Staying in sync: the server holds a request open until this device's scope changes (`GET /sync/wait`),
/// and the device then syncs. The wait is a hint, never data: what changed always arrives by a pull.
extension CaseSyncClient {
    /// Waits at most `seconds` for the server to say this device's scope changed past its cursor: true
    /// when it did (at once, if it has already).
    public func waitForChanges(transport: any SyncTransport, seconds: Int = WaitRules.defaultSeconds) async throws -> Bool {
        let token = try deviceToken()
        let cursor = try await database.writer.read { db in try String.fetchOne(db, sql: "SELECT cursor FROM account") }
        do {
            return try await transport.wait(cursor: cursor, seconds: seconds, token: token).changed
        } catch {
            let error = ClientError.from(error)
            _ = try? await noteSignedOut(error)
            throw error
        }
    }

    /// Keeps this device in sync until the task is cancelled: syncs, waits for news (and for edits made
    /// meanwhile), syncs again. While the server cannot be reached it tries again after `backoff`'s
    /// delays (doubling, with a fifth either way at random so that devices cut off together do not
    /// return together). Throws what no waiting mends: a device signed out, a copy that cannot be made
    /// to agree with the server.
    public func watch(
        transport: any SyncTransport, seconds: Int = WaitRules.defaultSeconds, backoff: RetryPolicy = Self.watchBackoff,
        onEvent: (WatchEvent) async -> Void
    ) async throws {
        var machine = WatchStateMachine(backoff: backoff)
        var action = machine.start
        // The failure the machine was last told of, to report while offline or to throw when it stops.
        var failure = ClientError(.unreachable, "not yet tried")
        while !Task.isCancelled {
            // What no waiting mends (a device signed out, a copy that cannot be made to agree) ends it.
            if case .stop = action { throw failure }
            do {
                switch action {
                case .sync:
                    let before = try await database.writer.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM records") ?? 0 }
                    let report = try await sync(transport: transport)
                    action = machine.handle(.synced)
                    await onEvent(.synced(report, arrived: try serverCopy(after: before)))
                case .wait:
                    let changed = try await waitForChanges(transport: transport, seconds: seconds)
                    action = machine.handle(.waited(changed: changed, pending: try status().pending > 0))
                case .sleep(let base, let spread):
                    let delay = base * Double.random(in: (1 - spread)...(1 + spread))
                    await onEvent(.offline(failure, retryIn: delay))
                    try await environment.sleep(delay)
                    action = machine.handle(.slept)
                case .stop:
                    break
                }
            } catch is CancellationError {
                return
            } catch let error as ClientError {
                failure = error
                action = machine.handle(.failed(SyncFailure(error)))
            }
        }
    }

    /// Reconnecting: after one second, doubling up to a minute.
    public static let watchBackoff = RetryPolicy(maxAttempts: .max, initialDelay: .seconds(1), maxDelay: .seconds(60))
}
