import ArgumentParser
import CaseSyncCore
import CaseSyncProtocol
import Foundation

@main
struct CaseSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casesync",
        abstract: "File, follow and answer government cases — offline first.",
        discussion: "Every command but login and sync works without a network; sync sends your changes and fetches what changed.",
        subcommands: [
            Login.self, Logout.self, Devices.self, Export.self, Authorities.self, New.self, List.self, Show.self, Edit.self, Submit.self, Withdraw.self, Delete.self,
            Message.self, Attach.self, Attachments.self, Download.self, Sync.self, Watch.self, Status.self, Conflicts.self, Resolve.self, Rejected.self,
            Move.self, Hearing.self, Decide.self, Deadlines.self, Notice.self, Profile.self, Postpone.self, Pause.self, Resume.self,
        ])
}

/// Where this device keeps its state.
struct HomeOptions: ParsableArguments {
    @Option(
        name: .customLong("home"),
        help: "Directory for this device's local state (env CASESYNC_HOME; default ~/.local/share/casesync).")
    var home: String?

    var directory: String {
        if let home { return home }
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["CASESYNC_HOME"], !home.isEmpty { return home }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return data + "/casesync" }
        return (environment["HOME"] ?? FileManager.default.currentDirectoryPath) + "/.local/share/casesync"
    }

    /// Opens the local database, creating the directory (readable by this user only) on first use.
    func client() throws -> CaseSyncClient {
        let path = directory
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return CaseSyncClient(database: try LocalDatabase(path: path + "/casesync.sqlite"))
        } catch {
            throw CLIError("cannot open local state in \(path): check the directory's permissions or pass --home")
        }
    }
}

/// A failure to report to the user: a message that says what to do, and an exit code.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32
    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }
    var description: String { message }
}

/// Runs a command body, printing library errors as `casesync: message` with a non-zero exit code
/// (3 when the server could not be reached or could not take the request just now, so scripts can tell
/// "try again later" from "refused").
func reporting<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ClientError where error.code == .signedOut {
        FileHandle.standardError.write(Data(
            "casesync: \(error.message). Your cases stay readable here. Ask for a new login code, then: casesync login <server URL> <code>\n".utf8))
        throw ExitCode(4)
    } catch let error as ClientError {
        FileHandle.standardError.write(Data("casesync: \(error.message)\(hint(for: error).map { "; " + $0 } ?? "")\n".utf8))
        throw ExitCode(error.code == .unreachable || error.code == .unavailable ? 3 : 1)
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("casesync: \(error.message)\n".utf8))
        throw ExitCode(error.exitCode)
    }
}

/// What to do next about a library error, in this command line's words (the library names no commands).
func hint(for error: ClientError) -> String? {
    switch (error.code, error.subject) {
    case (.notLoggedIn, _): "run: casesync login <server URL> <login code>"
    case (.alreadyLoggedIn, _): "use another --home for a second account"
    case (_, .caseRecord?): "see: casesync list"
    case (_, .conflict?): "see: casesync conflicts"
    case (_, .attachment?): "see the case's files: casesync attachments <case>"
    case (_, .authority?): "for one added since, run: casesync authorities --refresh"
    case (_, .senderAddress?): "set it once with: casesync profile --address \"Street 1\" --address \"1234 AB City\""
    case (_, .notYetReceived?): "sync first: casesync sync"
    case (_, .receiptDate?): "check --received and --on"
    case (_, .penaltyDate?): "give --as-of that day or later"
    default: nil
    }
}

/// The transport to the server this device is logged in to.
func transport(for client: CaseSyncClient) throws -> HTTPTransport {
    guard let account = try client.account() else {
        throw ClientError.notLoggedIn
    }
    guard let url = HTTPTransport.serverURL(account.serverURL) else {
        throw CLIError("the stored server URL \(account.serverURL) is not valid; log in again with another --home")
    }
    return HTTPTransport(baseURL: url)
}

/// Prints a value as pretty JSON.
func printJSON(_ value: some Encodable) throws {
    let encoder = WireCoding.encoder()
    encoder.outputFormatting.insert(.prettyPrinted)
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Reads text given directly or from a file (`-` for standard input).
func text(_ direct: String?, file: String?, name: String) throws -> String? {
    if direct != nil, file != nil { throw ValidationError("give --\(name) or --\(name)-file, not both") }
    guard let file else { return direct }
    if file == "-" {
        return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
    guard let data = FileManager.default.contents(atPath: file) else {
        throw CLIError("cannot read \(file): check the path")
    }
    return String(decoding: data, as: UTF8.self)
}
