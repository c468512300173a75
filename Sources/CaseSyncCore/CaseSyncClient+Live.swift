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
        var failures = 0
        var mustSync = true
        while !Task.isCancelled {
            do {
                if mustSync {
                    let before = try await database.writer.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM records") ?? 0 }
                    let report = try await sync(transport: transport)
                    failures = 0
                    await onEvent(.synced(report, arrived: try serverCopy(after: before)))
                }
                let changed = try await waitForChanges(transport: transport, seconds: seconds)
                failures = 0
                mustSync = try changed || status().pending > 0
            } catch let error as ClientError where error.code == .unreachable || error.code == .unavailable {
                failures += 1
                let delay = backoff.delay(beforeAttempt: failures + 1) * Double.random(in: 0.8...1.2)
                await onEvent(.offline(error, retryIn: delay))
                do {
                    try await environment.sleep(delay)
                } catch is CancellationError {
                    return
                }
                mustSync = true
            } catch is CancellationError {
                return
            }
        }
    }

    /// Reconnecting: after one second, doubling up to a minute.
    public static let watchBackoff = RetryPolicy(maxAttempts: .max, initialDelay: .seconds(1), maxDelay: .seconds(60))
}
