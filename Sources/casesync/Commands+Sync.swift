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
            let report = try await client.sync(transport: try transport(for: client))
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
