import ArgumentParser
import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Foundation

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stay in sync and print each change as it arrives, until Ctrl-C.",
        discussion: """
            The server answers as soon as something of yours changes; edits you make meanwhile (in another terminal) are sent \\
            within a wait. When the server cannot be reached, watch tries again after 1, 2, 4 … up to 60 seconds.
            """)
    @OptionGroup var home: HomeOptions
    @Option(help: "Seconds one wait for news may last (at most what the server allows; below your proxy's timeout).")
    var seconds: Int = WaitRules.defaultSeconds
    @Flag(help: "Print one JSON object a line for each change.") var json = false

    func validate() throws {
        guard (1...3_600).contains(seconds) else { throw ValidationError("--seconds must be between 1 and 3600") }
    }

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let transport = try transport(for: client)
            let discovery = try? await transport.discover()
            let seconds = min(seconds, discovery?.limits.maxWaitSeconds ?? seconds)
            var first = true
            try await client.watch(transport: transport, seconds: seconds) { event in
                switch event {
                case .synced(let report, let arrived):
                    if first {
                        first = false
                        if !json { emit("Up to date (\(report.pulled) update(s) received); watching for changes — Ctrl-C to stop.") }
                        return
                    }
                    for record in arrived { json ? printLine(record) : emit(Self.line(record)) }
                case .offline(let error, let retryIn):
                    let wait = Int(retryIn.components.seconds.magnitude) + (retryIn.components.attoseconds > 0 ? 1 : 0)
                    FileHandle.standardError.write(Data("casesync: \(error.message); trying again in \(wait) s\n".utf8))
                }
            }
        }
    }

    /// One change as a line: the time it arrived, the case, and what happened.
    static func line(_ record: StoredRecord) -> String {
        let decoder = WireCoding.decoder()
        let time = Date().formatted(.dateTime.hour(.twoDigits(amPM: .omitted)).minute(.twoDigits).second(.twoDigits))
        var text = "\(time)  case \(short(record.caseId)): "
        switch record.type {
        case .case:
            guard let value = try? decoder.decode(CaseRecord.self, from: record.data) else { return text + "changed" }
            text += "\"\(value.fields[CaseField.title.rawValue] ?? "")\" is \(value.status.rawValue) (version \(record.version))"
        case .event:
            guard let event = try? decoder.decode(TimelineEvent.self, from: record.data) else { return text + "a new event" }
            text += describe(event)
        case .message:
            guard let message = try? decoder.decode(CaseMessage.self, from: record.data) else { return text + "a new message" }
            let firstLine = message.body.split(separator: "\n").first.map(String.init) ?? ""
            text += "message from \(message.authorName) (\(message.authorRole.rawValue)): \(firstLine.prefix(80))"
        case .conflict:
            guard let conflict = try? decoder.decode(ConflictRecord.self, from: record.data) else { return text + "a conflict" }
            text += conflict.resolution == nil
                ? "your edit of \(conflict.conflict.field) met another; see: casesync conflicts"
                : "the conflict on \(conflict.conflict.field) is resolved"
        case .attachment:
            guard let file = try? decoder.decode(AttachmentRecord.self, from: record.data) else { return text + "a new file" }
            text += "file \(file.name) (\(bytes(file.size))) added by \(file.addedByName) (\(file.addedByRole.rawValue)); fetch it with: casesync download \(short(record.caseId)) \"\(file.name)\""
        default:
            text += "a \(record.type.rawValue) record (this version of casesync does not show them; update it to see it)"
        }
        return text
    }
}

/// Writes a line at once (print's output waits in a buffer when it goes to a pipe).
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// One record as a JSON line: its type, id, case, version, place and the record itself.
func printLine(_ record: StoredRecord) {
    var object: [String: Any] = ["type": record.type.rawValue, "id": record.id, "caseId": record.caseId, "version": record.version, "seq": record.seq]
    object["record"] = try? JSONSerialization.jsonObject(with: record.data)
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
    emit(String(decoding: data, as: UTF8.self))
}
