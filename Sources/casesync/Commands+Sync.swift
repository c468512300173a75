import ArgumentParser
import CaseSyncCore
import CaseSyncProtocol
import Foundation

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send your changes and fetch what changed.")
    @OptionGroup var home: HomeOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let transport = try transport(for: client)
            // A long sync shows how far it has come on a terminal (never in JSON or into a pipe).
            let meter = !json && isatty(STDERR_FILENO) == 1 ? ProgressMeter(client.observeSyncProgress()) : nil
            let report: SyncReport
            do {
                report = try await client.sync(transport: transport)
                await meter?.finish()
            } catch {
                await meter?.finish()
                throw error
            }
            if json { return try printJSON(report) }
            var line = "Synced: sent \(report.pushed) change\(report.pushed == 1 ? "" : "s")"
            if report.merged > 0 { line += ", \(report.merged) merged with others' edits" }
            if report.rejected > 0 { line += ", \(report.rejected) refused" }
            line += "; received \(report.pulled) update\(report.pulled == 1 ? "" : "s")."
            print(line)
            if report.repaired { print("This device's copy differed from the server's and was fetched again in full.") }
            let status = try client.status()
            if status.openConflicts > 0 { print("\(status.openConflicts) conflict(s) need you: casesync conflicts") }
            if report.rejected > 0 { print("See why changes were refused: casesync rejected") }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the server, the last sync, and what is pending, refused or in conflict.")
    @OptionGroup var home: HomeOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let status = try home.client().status()
            if json { return try printJSON(status) }
            let role = status.role == .officer ? "officer of \(status.authorityId ?? "?")" : "citizen"
            print("""
                Server:       \(status.serverURL)
                Account:      \(status.accountName) (\(role))
                Last sync:    \(status.lastSyncAt.map(\.description) ?? "never")\(status.lastSyncError.map { " — last attempt failed: \($0)" } ?? "")
                Cases:        \(status.cases)
                Pending:      \(status.pending) change(s) waiting to be sent
                Refused:      \(status.deadLetters)\(status.deadLetters > 0 ? " (casesync rejected)" : "")
                Conflicts:    \(status.openConflicts)\(status.openConflicts > 0 ? " (casesync conflicts)" : "")
                """)
            if let reason = status.signedOut {
                print("Signed out:   the server no longer accepts this device (\(reason)); log in again with a new login code")
            }
        }
    }
}

struct Conflicts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the conflicts between your edits and others'.")
    @OptionGroup var home: HomeOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let conflicts = try home.client().openConflicts()
            if json { return try printJSON(conflicts) }
            if conflicts.isEmpty { return print("No open conflicts.") }
            for conflict in conflicts {
                let kept = conflict.conflict.winner == .server ? "the other version was kept" : "your version was kept"
                print("Conflict \(short(conflict.id)) on case \(short(conflict.caseId)), field \(conflict.conflict.field) — \(kept)")
                print("  yours:  \(conflict.conflict.clientValue ?? "(empty)")")
                print("  theirs: \(conflict.conflict.serverValue ?? "(empty)")")
            }
            print("Resolve with: casesync resolve <conflict> --keep mine|theirs")
        }
    }
}

struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resolve a conflict by keeping your value or theirs.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The conflict id or its first characters.") var conflictId: String
    @Option(help: "mine or theirs.") var keep: String

    func validate() throws {
        guard ConflictResolutionChoice(rawValue: keep) != nil else { throw ValidationError("--keep must be mine or theirs") }
    }

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let id = try client.conflictId(matching: conflictId)
            try client.resolve(conflictId: id, keep: ConflictResolutionChoice(rawValue: keep)!)
            print("Conflict \(short(id)) resolved (keeping \(keep)); it is sent on your next: casesync sync")
        }
    }
}

struct Rejected: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List your changes the server refused, and why.")
    @OptionGroup var home: HomeOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let letters = try home.client().deadLetters()
            if json { return try printJSON(letters) }
            if letters.isEmpty { return print("No refused changes.") }
            for letter in letters {
                print("#\(letter.mutation.mutationId) \(letter.mutation.operation.name) on case \(short(letter.mutation.caseId)): \(letter.message) [\(letter.code)]")
            }
        }
    }
}

/// Draws a running sync's progress on one line of the terminal's error stream, as `git clone` does: from
/// half a second into the sync (a quick one draws nothing), at most ten times a second, and a last time
/// when it ends.
final class ProgressMeter: Sendable {
    private let task: Task<Void, Never>

    init(_ progress: AsyncStream<SyncProgress?>) {
        task = Task {
            let start = ContinuousClock.now
            var drawn: ContinuousClock.Instant?
            var last: SyncProgress?
            for await value in progress {
                if let value { last = value }
                let now = ContinuousClock.now
                guard let last, now - start >= .milliseconds(500), drawn.map({ now - $0 >= .milliseconds(100) }) ?? true else { continue }
                drawn = now
                Self.draw(last)
            }
            if drawn != nil, let last {
                Self.draw(last)
                FileHandle.standardError.write(Data("\n".utf8))
            }
        }
    }

    /// Stops drawing (after a last line, if any was drawn).
    func finish() async {
        task.cancel()
        await task.value
    }

    static func draw(_ progress: SyncProgress) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + describe(progress)).utf8))
    }
}

/// One line about a running sync.
func describe(_ progress: SyncProgress) -> String {
    switch progress.phase {
    case .pushing:
        return "Sending changes: \(progress.pushed.formatted()) of \(progress.toPush.formatted())"
    case .pulling:
        return "Receiving updates: \(progress.records.formatted()) records in \(progress.pages.formatted()) page\(progress.pages == 1 ? "" : "s")"
            + (progress.repairing ? " (fetching this device's copy again in full)" : "")
    }
}
