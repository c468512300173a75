import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol

/// The first 8 characters of an id: enough to type, and accepted wherever an id is.
func short(_ id: String) -> String { String(id.prefix(8)) }

/// A plain text table with aligned columns.
func table(_ headers: [String], _ rows: [[String]]) -> String {
    let all = [headers] + rows
    let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

/// One case for people to read.
func render(_ detail: CaseDetail) -> String {
    let record = detail.local.record
    let field = { (name: CaseField) in record.fields[name.rawValue] }
    var lines: [String] = []
    let sync = detail.local.pendingCount > 0
        ? "\(detail.local.pendingCount) change(s) not yet synced"
        : (detail.local.serverVersion == nil ? "only on this device" : "synced")
    lines.append("Case \(record.id)")
    lines.append("  \(record.kind.rawValue) · status \(record.status.rawValue) · \(sync)")
    lines.append("Title:              \(field(.title) ?? "")")
    if let authority = detail.authority {
        lines.append("Authority:          \(authority.name) (\(authority.id)), \(authority.postalAddress.joined(separator: ", "))")
    } else if detail.authorityUnregistered {
        lines.append("Authority:          \(record.authorityId) — NOT IN THE SERVER'S REGISTER any more: no officer may see this case; contact the authority")
    } else {
        lines.append("Authority:          \(record.authorityId)")
    }
    lines.append("Contested decision: \(field(.decisionReference) ?? "") of \(field(.decisionDate) ?? "")")
    if let email = field(.contactEmail) { lines.append("E-mail:             \(email)") }
    if let phone = field(.contactPhone) { lines.append("Phone:              \(phone)") }
    if let hearing = field(.hearingAt) { lines.append("Hearing:            \(hearing)") }
    if let outcome = field(.decisionOutcome) {
        lines.append("Decision:           \(outcome)\(field(.decisionSummary).map { " — \($0)" } ?? "")")
    }
    lines.append("Grounds:")
    lines += (field(.grounds) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
    if !detail.events.isEmpty {
        lines.append("Timeline:")
        for event in detail.events { lines.append("  \(event.at)  " + describe(event)) }
    }
    if !detail.messages.isEmpty {
        lines.append("Messages:")
        for message in detail.messages {
            lines.append("  \(message.sentAt)  \(message.authorName) (\(message.authorRole.rawValue)):")
            lines += message.body.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
        }
    }
    if !detail.pending.isEmpty {
        lines.append("Not yet synced:")
        for pending in detail.pending {
            var text = "  #\(pending.mutation.mutationId) \(describe(pending.mutation.operation))"
            if let predicted = pending.predicted {
                switch predicted.status {
                case .rejected: text += " — will likely be refused: \(predicted.message ?? "")"
                case .merged:
                    let fields = predicted.conflicts?.map(\.field).joined(separator: ", ") ?? ""
                    text += " — changed meanwhile by someone else (\(fields)); a conflict will be kept for you"
                case .applied: break
                }
            }
            lines.append(text)
        }
    }
    for conflict in detail.conflicts {
        lines.append("Conflict \(short(conflict.id)) on \(conflict.conflict.field): see casesync conflicts")
    }
    for letter in detail.deadLetters {
        lines.append("Refused #\(letter.mutation.mutationId) \(letter.mutation.operation.name): \(letter.message)")
    }
    return lines.joined(separator: "\n")
}

/// A timeline event as one line: what happened, who did it, and the note.
func describe(_ event: TimelineEvent) -> String {
    var text: String
    switch event.type {
    case .created: text = "filed"
    case .statusChanged: text = "status → \(event.status?.rawValue ?? "?")"
    case .hearingScheduled: text = "hearing scheduled"
    case .decided: text = "decided"
    case .postponed:
        text = "decision postponed \(event.weeks ?? 0) weeks"
        text += event.consent == true ? " with the objector's consent (Awb 7:10 lid 4)" : " (Awb 7:10 lid 3)"
    case .paused: text = "decision period paused from \(event.effectiveDate.map(String.init(describing:)) ?? "?") (Awb 7:10 lid 2)"
    case .resumed: text = "decision period runs again from \(event.effectiveDate.map(String.init(describing:)) ?? "?")"
    default: text = event.type.rawValue.replacingOccurrences(of: "_", with: " ")
    }
    text += event.actorName.map { " (\($0), \(event.actorRole.rawValue))" } ?? " (\(event.actorRole.rawValue))"
    if let note = event.note { text += ": \(note)" }
    return text
}

func describe(_ operation: MutationOperation) -> String {
    switch operation {
    case .create: "file the case"
    case .edit(let changes): "change " + changes.map(\.field).joined(separator: ", ")
    case .transition(let transition): "move to \(transition.to.rawValue)"
    case .addMessage: "send a message"
    case .resolveConflict(_, let keep): "resolve a conflict (keep \(keep.rawValue))"
    case .delete: "delete the draft"
    case .deadline(let change):
        switch change.action {
        case .postpone: "postpone the decision \(change.weeks ?? 0) weeks"
        case .pause: "pause the decision period"
        case .resume: "let the decision period run again"
        }
    case .attach(let attachment): "attach \(attachment.name)"
    }
}
