import ArgumentParser
import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Foundation

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log this device in with a one-time login code.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The server's URL, e.g. http://127.0.0.1:8080.") var url: String
    @Argument(help: "The login code you were given, e.g. K7QM-2XRT-9HBD.") var code: String
    @Option(help: "A name for this device, shown in your list of devices.") var deviceName: String?
    @Flag(help: "Use a server reached by plain http:// on another machine (your token and cases travel unencrypted).")
    var insecure = false
    @Flag(help: "When this device was signed out with edits it never sent: drop them and log in.")
    var discardPending = false

    func validate() throws {
        guard let parsed = HTTPTransport.serverURL(url) else {
            throw ValidationError("\(url) is not a server URL; it looks like https://casesync.example.org or http://127.0.0.1:8080")
        }
        if HTTPTransport.isInsecure(parsed), !insecure {
            throw ValidationError(
                "\(url) is plain http to another machine: your token and cases would travel unencrypted. Use its https:// address, or add --insecure on a network you trust")
        }
    }

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let account: LocalAccount
            do {
                account = try await client.login(
                    serverURL: url, code: code, deviceName: deviceName ?? ProcessInfo.processInfo.hostName,
                    transport: HTTPTransport(baseURL: HTTPTransport.serverURL(url)!), discardPending: discardPending)
            } catch let error as ClientError where error.code == .unsentEdits {
                throw CLIError(
                    "\(error.message). See them with: casesync status; to drop them and log in: casesync login --discard-pending \(url) \(code)")
            }
            let who = account.account.role == .officer
                ? "officer of \(account.account.authorityId ?? "?")" : "citizen"
            print("Logged in as \(account.account.displayName) (\(who)). Next: casesync sync")
        }
    }
}

struct New: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "File a new case.", subcommands: [Objection.self])

    struct Objection: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Object to a decision of an authority (bezwaar). Works offline; sync sends it.")
        @OptionGroup var home: HomeOptions
        @Option(help: "The authority that took the decision: its id or name in the register, e.g. gm0344 or Utrecht (see: casesync authorities).") var authority: String
        @Option(help: "The reference of the contested decision, as printed on it.") var reference: String
        @Option(help: "The date of the contested decision, YYYY-MM-DD.") var decisionDate: String
        @Option(help: "A short title for your case.") var title: String
        @Option(help: "Your grounds of objection.") var grounds: String?
        @Option(help: "Read your grounds from a file (- for standard input).") var groundsFile: String?
        @Option(help: "An e-mail address the authority may use.") var email: String?
        @Option(help: "A phone number the authority may use.") var phone: String?
        @Flag(help: "The decision is a municipal tax assessment, e.g. a parking-tax fine (AWR 22j, Gemeentewet 236).")
        var municipalTax = false
        @Flag(help: "Keep it as a draft instead of submitting it.") var draft = false

        func validate() throws {
            guard CalendarDate(decisionDate) != nil else {
                throw ValidationError("--decision-date must be a date like 2026-03-02")
            }
            if grounds == nil, groundsFile == nil { throw ValidationError("give your grounds with --grounds or --grounds-file") }
        }

        func run() async throws {
            try await reporting {
                let client = try home.client()
                var fields: [CaseField: String] = [
                    .title: title, .decisionReference: reference, .decisionDate: decisionDate,
                    .grounds: try text(grounds, file: groundsFile, name: "grounds") ?? "",
                ]
                fields[.contactEmail] = email
                fields[.contactPhone] = phone
                if municipalTax { fields[.decisionType] = DecisionType.municipalTax.rawValue }
                let id = try client.createObjection(authorityId: authority, fields: fields, submit: !draft)
                print("Case \(short(id)) \(draft ? "saved as a draft" : "filed"); it is sent on your next: casesync sync")
            }
        }
    }
}

/// Which cases a listing shows: a status, an authority, words to find, how many.
struct CaseFilterOptions: ParsableArguments {
    @Option(help: "Only cases with this status (\(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))).")
    var status: String?
    @Option(help: "Only cases filed with this authority (its id, e.g. gm0344).") var authority: String?
    @Option(help: "Only cases whose id, decision reference or title contain these words.") var search: String?
    @Option(help: "Show at most this many cases (default: \(Self.defaultLimit) on screen, all with --json; 0: all).")
    var limit: Int?

    static let defaultLimit = 50

    func validate() throws {
        if let status, CaseStatus(rawValue: status) == nil {
            throw ValidationError("--status must be one of \(CaseStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 (all) or more") }
    }

    func query(json: Bool, order: CaseQuery.Order) -> CaseQuery {
        let limit = limit ?? (json ? 0 : Self.defaultLimit)
        return CaseQuery(
            status: status.flatMap(CaseStatus.init), authorityId: authority, search: search, order: order,
            limit: limit == 0 ? nil : limit)
    }

    /// What to print under a table: how many of how many, and how to see the rest.
    func footer(shown: Int, total: Int, noun: String) -> String? {
        guard shown < total else { return nil }
        return "\(shown.formatted()) of \(total.formatted()) \(noun) shown; --limit \(min(total, max(shown * 4, 200))) (or 0 for all) shows more, --search or --status fewer."
    }

    /// What to say when nothing matches.
    var nothingFound: String {
        status == nil && authority == nil && search == nil
            ? "No cases yet. File one with: casesync new objection --help"
            : "No case on this device matches; see every case with: casesync list"
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the cases on this device, newest change first.")
    @OptionGroup var home: HomeOptions
    @OptionGroup var filter: CaseFilterOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let page = try home.client().cases(filter.query(json: json, order: .recentlyChanged))
            if json { return try printJSON(page.cases) }
            if page.cases.isEmpty { return print(filter.nothingFound) }
            print(table(
                ["CASE", "STATUS", "AUTHORITY", "TITLE", "SYNC"],
                page.cases.map {
                    [short($0.id), $0.record.status.rawValue, $0.record.authorityId,
                     String(($0.field(.title) ?? "").prefix(40)),
                     $0.pendingCount > 0 ? "\($0.pendingCount) pending" : "synced"]
                }))
            if let footer = filter.footer(shown: page.cases.count, total: page.total, noun: "cases") { print(footer) }
        }
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one case: fields, status, timeline, messages and changes not yet synced.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let detail = try client.detail(caseId: try client.caseId(matching: caseId))
            if json { return try printJSON(detail) }
            print(render(detail))
            let files = try client.attachments(caseId: detail.local.id)
            if !files.isEmpty { print((["Files:"] + render(files)).joined(separator: "\n")) }
            print(render(try client.deadlines(caseId: detail.local.id)).joined(separator: "\n"))
        }
    }
}

struct Edit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Change a case's fields. Works offline.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option var title: String?
    @Option var grounds: String?
    @Option(help: "Read new grounds from a file (- for standard input).") var groundsFile: String?
    @Option(help: "The contested decision's reference.") var reference: String?
    @Option(help: "The contested decision's date, YYYY-MM-DD.") var decisionDate: String?
    @Option var email: String?
    @Option var phone: String?
    @Flag(help: "Remove the e-mail address.") var clearEmail = false
    @Flag(help: "Remove the phone number.") var clearPhone = false
    @Option(help: "Officers: a decision summary.") var summary: String?
    @Option(help: "What the contested decision is: decision or municipal_tax.") var decisionType: String?
    @Option(help: "Officers: yes when an advisory committee hears the objection (Awb 7:13: twelve weeks to decide).")
    var advisoryCommittee: String?

    func run() async throws {
        try await reporting {
            var values: [CaseField: String?] = [:]
            values[.title] = title.map { Optional($0) }
            values[.grounds] = try text(grounds, file: groundsFile, name: "grounds").map { Optional($0) }
            values[.decisionReference] = reference.map { Optional($0) }
            values[.decisionDate] = decisionDate.map { Optional($0) }
            values[.contactEmail] = clearEmail ? .some(nil) : email.map { Optional($0) }
            values[.contactPhone] = clearPhone ? .some(nil) : phone.map { Optional($0) }
            values[.decisionSummary] = summary.map { Optional($0) }
            values[.decisionType] = decisionType.map { Optional($0) }
            values[.advisoryCommittee] = advisoryCommittee.map { Optional($0) }
            guard !values.isEmpty else { throw CLIError("say what to change, e.g. --grounds \"…\"; see: casesync edit --help") }
            let client = try home.client()
            let id = try client.caseId(matching: caseId)
            try client.edit(caseId: id, set: values)
            print("Changed case \(short(id)); it is sent on your next: casesync sync")
        }
    }
}

struct Message: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Send a message about a case. Works offline.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Argument(help: "The message text (or use --file).") var body: String?
    @Option(help: "Read the message from a file (- for standard input).") var file: String?

    func run() async throws {
        try await reporting {
            guard let body = try text(body, file: file, name: "message") else {
                throw CLIError("give the message text, e.g. casesync message \(caseId) \"…\"")
            }
            let client = try home.client()
            let id = try client.caseId(matching: caseId)
            try client.sendMessage(caseId: id, body: body)
            print("Message on case \(short(id)) queued; it is sent on your next: casesync sync")
        }
    }
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Submit a draft case to the authority.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String

    func run() async throws {
        try await moveCase(home: home, caseId: caseId, to: .submitted, note: nil, fields: [:])
    }
}

struct Withdraw: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Withdraw your objection (before it is decided).")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String
    @Option(help: "Why you withdraw it.") var note: String?

    func run() async throws {
        try await moveCase(home: home, caseId: caseId, to: .withdrawn, note: note, fields: [:])
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a case that is still a draft.")
    @OptionGroup var home: HomeOptions
    @Argument(help: "The case id or its first characters.") var caseId: String

    func run() async throws {
        try await reporting {
            let client = try home.client()
            let id = try client.caseId(matching: caseId)
            try client.deleteDraft(caseId: id)
            print("Draft \(short(id)) deleted")
        }
    }
}

/// Queues a status change and says so.
func moveCase(home: HomeOptions, caseId: String, to status: CaseStatus, note: String?, fields: [CaseField: String])
    async throws
{
    try await reporting {
        let client = try home.client()
        let id = try client.caseId(matching: caseId)
        try client.move(caseId: id, to: status, note: note, fields: fields)
        print("Case \(short(id)) moves to \(status.rawValue); it is sent on your next: casesync sync")
    }
}
