import ArgumentParser
import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol

struct Move: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Officers: move a case to its next status (received, in_review, closed, …).")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Argument(help: "The new status: \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", ")).") var status: String
    @Option(help: "A note for the timeline.") var note: String?

    func validate() throws {
        guard CaseStatus(rawValue: status) != nil else {
            throw ValidationError("status must be one of \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if status == CaseStatus.hearingScheduled.rawValue { throw ValidationError("schedule a hearing with: casesync hearing") }
        if status == CaseStatus.decided.rawValue { throw ValidationError("record a decision with: casesync decide") }
    }

    func run() async throws {
        try await moveCase(home: home, caseId: caseId, to: CaseStatus(rawValue: status)!, note: note, fields: [:])
    }
}

struct Hearing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Officers: schedule (or move) the hearing of a case.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option(help: "When, in UTC: 2026-05-12T09:30:00Z.") var at: String
    @Option(help: "A note for the timeline (place, who attends).") var note: String?

    func validate() throws {
        guard Timestamp(iso8601: normalizedTime(at)) != nil else {
            throw ValidationError("--at must be a UTC time like 2026-05-12T09:30:00Z")
        }
    }

    func run() async throws {
        try await moveCase(
            home: home, caseId: caseId, to: .hearingScheduled, note: note, fields: [.hearingAt: normalizedTime(at)])
    }
}

struct Decide: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Officers: record the decision on an objection.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option(help: "The outcome: \(CaseField.decisionOutcomes.joined(separator: ", ")).") var outcome: String
    @Option(help: "A summary of the decision for the citizen.") var summary: String?

    func validate() throws {
        guard CaseField.decisionOutcomes.contains(outcome) else {
            throw ValidationError("--outcome must be one of \(CaseField.decisionOutcomes.joined(separator: ", "))")
        }
    }

    func run() async throws {
        var fields: [CaseField: String] = [.decisionOutcome: outcome]
        fields[.decisionSummary] = summary
        try await moveCase(home: home, caseId: caseId, to: .decided, note: nil, fields: fields)
    }
}

/// Accepts a time without milliseconds and writes it in the protocol's form.
func normalizedTime(_ text: String) -> String {
    Timestamp(iso8601: text).map(\.description) ?? text
}
