import ArgumentParser
import CaseSyncProtocol
import CaseSyncServer
import Foundation

/// The operator reads the audit trail: who did what to a case, or what an account did and what was
/// done to it. Never content: operations and the names of the fields they set.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the audit trail of a case or an account: who did what, when, from where.",
        discussion: "The trail is appended to by every applied change, login, logout, revocation and operator command, in the same transaction; its entries are never changed (an erasure removes the citizen's and leaves one that it happened), survive compaction, and hold no content (names of fields, not their values).")
    @OptionGroup var storage: StorageOptions
    @Option(help: "A case's id.") var `case`: String?
    @Option(help: "An account's id.") var account: String?
    @Flag(help: "The operator's own commands: backups, restores, compactions, changes to the register.") var `operator` = false
    @Option(help: "Most entries to print (default 1000).") var limit: Int = 1_000
    @Flag(help: "Print JSON lines, one entry a line.") var json = false

    func validate() throws {
        guard [`case` != nil, account != nil, `operator`].filter({ $0 }).count == 1 else {
            throw ValidationError("give --case ID, --account ID or --operator")
        }
        guard limit >= 1 else { throw ValidationError("--limit must be 1 or more") }
    }

    func run() async throws {
        let query: AuditQuery = `operator` ? .operator : `case`.map(AuditQuery.caseId) ?? .accountId(account!)
        let limit = limit
        let entries = try await storage.withStore { store in
            // In pages, so that a long trail is not read at once.
            var entries: [AuditEntry] = []
            while entries.count < limit {
                let page = try await store.audit(query, after: entries.last?.id ?? 0, limit: min(500, limit - entries.count))
                entries += page
                if page.count < 500 { break }
            }
            return entries
        }
        if entries.isEmpty { return print("no audit entries for \(`operator` ? "the operator" : `case`.map { "case \($0)" } ?? "account \(account!)")") }
        let encoder = WireCoding.encoder()
        for entry in entries {
            if json {
                print(String(decoding: try encoder.encode(entry), as: UTF8.self))
            } else {
                print(Self.line(entry))
            }
        }
    }

    /// One entry as a line: when, who (from where), what.
    static func line(_ entry: AuditEntry) -> String {
        var who: String
        switch entry.actor {
        case .device: who = "account \(entry.accountId ?? "?") device \(entry.clientId ?? "?")"
        case .operator: who = "operator"
        case .server: who = "server"
        }
        if let address = entry.address { who += " from \(address)" }
        var what = entry.action.rawValue
        if let operation = entry.operation { what += " \(operation)" }
        if let caseId = entry.caseId { what += " case \(caseId)" }
        if let fields = entry.fields, !fields.isEmpty { what += " fields \(fields.joined(separator: ","))" }
        if let subject = entry.subject { what += " → \(subject)" }
        if entry.actor == .operator, let account = entry.accountId { what += " account \(account)" }
        if let outcome = entry.outcome { what += " (\(outcome))" }
        return "\(entry.at)  \(who): \(what)"
    }
}
