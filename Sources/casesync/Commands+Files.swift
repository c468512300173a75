import ArgumentParser
import CaseSyncCore
import CaseSyncProtocol
import Foundation

struct Attach: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach a file to a case: a photo (JPEG, PNG, HEIC) or a PDF. Works offline.",
        discussion: "The file is kept on this device at once and sent on your next sync; the same file twice is sent once.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Argument(help: "The file to attach.") var file: String
    @Option(help: "The name others see (default: the file's name).") var name: String?

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let id = try client.caseId(matching: caseId)
            let url = URL(fileURLWithPath: file)
            try client.attach(caseId: id, file: url, name: name)
            print("\(name ?? url.lastPathComponent) attached to case \(short(id)), waiting to upload; it is sent on your next: casesync sync")
        }
    }
}

struct Attachments: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the files on a case, and which wait to be sent.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let files = try client.attachments(caseId: try client.caseId(matching: caseId))
            if json { return try printJSON(files) }
            if files.isEmpty { return print("No files on this case. Add one with: casesync attach \(caseId) FILE") }
            for line in render(files) { print(line) }
        }
    }
}

struct Download: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch a file of a case and save it (kept on this device after the first time).")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Argument(help: "The file's name (or its id, or the start of its SHA-256).") var name: String
    @Option(name: .shortAndLong, help: "Where to save it (default: its name, in the current directory).") var output: String?
    @Flag(help: "Replace a file that is there already.") var force = false

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let id = try client.caseId(matching: caseId)
            let (record, copy) = try await client.download(caseId: id, matching: name, transport: try transport(for: client))
            // The name came from another device (through a server that may not be trustworthy either): used as a
            // file name only when it is one — no slashes, not . or .. — and never over a file unasked.
            if output == nil, let problem = AttachmentRules.nameProblem(record.name) {
                throw CLIError("the file's name cannot be used here (\(problem)); give one with --output")
            }
            let target = URL(fileURLWithPath: output ?? record.name)
            if FileManager.default.fileExists(atPath: target.path) {
                guard force else { throw CLIError("\(target.path) exists already; choose another with --output, or replace it with --force") }
                try FileManager.default.removeItem(at: target)
            }
            do {
                try FileManager.default.copyItem(at: copy, to: target)
            } catch {
                throw CLIError("cannot write \(target.path): check the directory and its permissions")
            }
            print("Saved \(record.name) (\(bytes(record.size)), \(record.contentType)) to \(target.path)")
        }
    }
}

/// One line per file: its name, size, who added it and whether it is sent.
func render(_ files: [LocalAttachment]) -> [String] {
    files.map { file in
        let state =
            switch file.state {
            case .sent: file.onDevice ? "on this device" : "on the server"
            case .waitingToUpload: "waiting to upload"
            case .refused: "refused: \(file.refusal ?? "")"
            }
        return "  \(file.record.name)  \(bytes(file.record.size))  \(file.record.contentType)  added by \(file.record.addedByName) (\(file.record.addedByRole.rawValue))  \(state)"
    }
}

func bytes(_ count: Int64) -> String {
    count < 1_024 ? "\(count) B" : count < 1_048_576 ? "\(count / 1_024) KiB" : String(format: "%.1f MiB", Double(count) / 1_048_576)
}
