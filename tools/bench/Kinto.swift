import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB

// The peer: the same push, pull + apply and seeding workloads against a Kinto server (Mozilla's sync
// server), spoken in its own REST protocol, so `tools/benchmark --peer kinto` can set our figures beside it.

struct KintoOptions: ParsableArguments {
    @Option(help: "The Kinto server's URL (ending in /v1).") var url: String
    @Option(help: "Basic-auth user (Kinto's basicauth policy accepts any).") var user = "bench"
    @Option var bucket = "bench"
    @Option var collection = "cases"

    var recordsPath: String { "/buckets/\(bucket)/collections/\(collection)/records" }
}

/// A small Kinto client over URLSession: batch writes and paged reads.
struct KintoClient {
    let options: KintoOptions
    let session: URLSession
    let authorization: String

    init(_ options: KintoOptions) {
        self.options = options
        session = URLSession(configuration: .ephemeral)
        authorization = "Basic " + Data("\(options.user):secret".utf8).base64EncodedString()
    }

    func send(_ method: String, _ url: URL, body: Data? = nil) async throws -> (Data, HTTPURLResponse) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue(authorization, forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        guard (200..<300).contains(http.statusCode) else {
            throw ValidationError("Kinto answered \(http.statusCode) to \(method) \(url): \(String(decoding: data, as: UTF8.self))")
        }
        return (data, http)
    }

    /// Creates the bucket and collection (idempotent).
    func prepare() async throws {
        _ = try await send("PUT", URL(string: options.url + "/buckets/\(options.bucket)")!)
        _ = try await send("PUT", URL(string: options.url + "/buckets/\(options.bucket)/collections/\(options.collection)")!)
    }

    /// One batch request; every sub-request must succeed.
    func batch(_ requests: [[String: Any]]) async throws {
        for (request, status) in zip(requests, try await statuses(of: requests)) where !(200..<300).contains(status) {
            throw ValidationError("a Kinto batch request failed with \(status): \(request["path"] ?? "")")
        }
    }

    /// One batch request: the status Kinto answered for each sub-request.
    func statuses(of requests: [[String: Any]]) async throws -> [Int] {
        let body = try JSONSerialization.data(withJSONObject: ["requests": requests])
        let (data, _) = try await send("POST", URL(string: options.url + "/batch")!, body: body)
        let answer = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (answer["responses"] as! [[String: Any]]).map { $0["status"] as! Int }
    }

    /// The ids of every record in the collection now (all pages).
    func recordIds() async throws -> Set<String> {
        var ids: Set<String> = []
        var next: URL? = URL(string: options.url + options.recordsPath + "?_fields=id&_limit=5000")
        while let url = next {
            let (data, response) = try await send("GET", url)
            let page = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            for record in page["data"] as! [[String: Any]] { ids.insert(record["id"] as! String) }
            next = response.value(forHTTPHeaderField: "Next-Page").flatMap(URL.init(string:))
        }
        return ids
    }

    func create(_ id: String, _ data: [String: Any]) -> [String: Any] {
        ["method": "PUT", "path": "\(options.recordsPath)/\(id)", "body": ["data": data]]
    }

    func patch(_ id: String, _ data: [String: Any]) -> [String: Any] {
        ["method": "PATCH", "path": "\(options.recordsPath)/\(id)", "body": ["data": data]]
    }
}

/// Push into Kinto: the mix of `push` (half creations, half 3-field edits of them), through its batch endpoint.
struct KintoPush: AsyncParsableCommand {
    @OptionGroup var kinto: KintoOptions
    @Option var devices = 2
    @Option var batch = 100
    @Option var mutations = 40_000

    func run() async throws {
        let client = KintoClient(kinto)
        try await client.prepare()
        let share = mutations / devices
        let start = ContinuousClock.now
        let tallies = try await withThrowingTaskGroup(of: Tally.self) { group in
            for _ in 0..<devices {
                group.addTask { try await pushAll(client, share) }
            }
            return try await group.reduce(into: Tally()) { $0.add($1) }
        }
        let elapsed = seconds(since: start)
        // Every creation Kinto answered with success must be in the collection now.
        let stored = try await client.recordIds()
        let lost = tallies.createdIds.subtracting(stored).count
        report("kinto_push", [
            "batch": Double(batch), "devices": Double(devices), "mutations": Double(tallies.acknowledged), "seconds": elapsed,
            "per_second": Double(tallies.acknowledged) / elapsed, "refused": Double(tallies.refused),
            "given_up": Double(tallies.givenUp), "acknowledged_then_lost": Double(lost),
        ])
    }

    /// What a device saw: the writes Kinto acknowledged, the sub-requests it refused (sent again, up to
    /// five times, as its answer asks), and the creations it acknowledged.
    struct Tally: Sendable {
        var acknowledged = 0
        var refused = 0
        var givenUp = 0
        var createdIds: Set<String> = []

        mutating func add(_ other: Tally) {
            acknowledged += other.acknowledged
            refused += other.refused
            givenUp += other.givenUp
            createdIds.formUnion(other.createdIds)
        }
    }

    private func pushAll(_ client: KintoClient, _ mutations: Int) async throws -> Tally {
        let fields = ["title": "Parking fine", "grounds": "My permit was valid and on the dashboard.", "decisionReference": "PT-1",
                      "decisionDate": "2026-03-02", "kind": "objection", "status": "draft"]
        var tally = Tally()
        var sent = 0
        while sent < mutations {
            let creations = min(batch / 2, (mutations - sent) / 2)
            guard creations > 0 else { break }
            let ids = (0..<creations).map { _ in UUID().uuidString.lowercased() }
            var pending = ids.map { (id: $0, create: true, request: client.create($0, fields)) } + ids.map {
                (id: $0, create: false, request: client.patch($0, ["title": "Parking fine, Oudegracht", "grounds": "The permit was valid; photo enclosed.",
                                                                 "contactEmail": "anna@example.org"]))
            }
            sent += pending.count
            for attempt in 0..<6 where !pending.isEmpty {
                if attempt > 0 { try await Task.sleep(for: .milliseconds(20 * attempt)) }
                let statuses = try await client.statuses(of: pending.map(\.request))
                var again: [(id: String, create: Bool, request: [String: Any])] = []
                for (write, status) in zip(pending, statuses) {
                    if (200..<300).contains(status) {
                        tally.acknowledged += 1
                        if write.create { tally.createdIds.insert(write.id) }
                    } else {
                        tally.refused += 1
                        again.append(write)
                    }
                }
                pending = again
            }
            tally.givenUp += pending.count
        }
        return tally
    }
}

/// Fills a Kinto collection with submitted cases, one record each.
struct KintoSeed: AsyncParsableCommand {
    @OptionGroup var kinto: KintoOptions
    @Option var cases = 100_000

    func run() async throws {
        let client = KintoClient(kinto)
        try await client.prepare()
        let start = ContinuousClock.now
        var made = 0
        while made < cases {
            let count = min(500, cases - made)
            try await client.batch((0..<count).map { index in
                client.create(UUID().uuidString.lowercased(), [
                    "kind": "objection", "status": "submitted", "authorityId": "gemeente-utrecht",
                    "title": "Parking fine \(made + index)", "grounds": "Grounds of objection number \(made + index): the permit was valid.",
                    "decisionReference": "PT-2026-\(made + index)", "decisionDate": "2026-03-02",
                ])
            })
            made += count
        }
        report("kinto_seed", ["cases": Double(cases), "seconds": seconds(since: start)])
    }
}

/// Pull + apply from Kinto: every record in pages (following `Next-Page`), each page stored in a local
/// SQLite store in one transaction with its position, as our client does.
struct KintoInitialSync: AsyncParsableCommand {
    @OptionGroup var kinto: KintoOptions
    @Option var pageSize = 5_000

    func run() async throws {
        let client = KintoClient(kinto)
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try DatabaseQueue(path: directory.appendingPathComponent("kinto.sqlite").path)
        try await store.write { db in
            try db.execute(sql: """
                CREATE TABLE records (id TEXT PRIMARY KEY, last_modified INTEGER NOT NULL, body BLOB NOT NULL);
                CREATE TABLE position (since INTEGER NOT NULL);
                INSERT INTO position VALUES (0);
                """)
        }
        let start = ContinuousClock.now
        var next: URL? = URL(string: kinto.url + kinto.recordsPath + "?_sort=last_modified&_limit=\(pageSize)")
        var changes = 0
        var pages = 0
        while let url = next {
            let (data, response) = try await client.send("GET", url)
            let records = try KintoPage.records(in: Array(data))
            try await store.write { db in
                let insert = try db.makeStatement(sql: "INSERT OR REPLACE INTO records (id, last_modified, body) VALUES (?, ?, ?)")
                var newest: Int64 = 0
                for record in records {
                    try insert.execute(arguments: [record.id, record.lastModified, Data(data[record.range])])
                    newest = max(newest, record.lastModified)
                }
                try db.execute(sql: "UPDATE position SET since = MAX(since, ?)", arguments: [newest])
            }
            changes += records.count
            pages += 1
            next = (response.value(forHTTPHeaderField: "Next-Page")).flatMap(URL.init(string:))
        }
        let elapsed = seconds(since: start)
        report("kinto_initial_sync", [
            "changes": Double(changes), "pages": Double(pages), "seconds": elapsed, "per_second": Double(changes) / elapsed,
        ])
    }
}

/// Splits Kinto's `{"data":[{...},...]}` into each record's bytes, with its `id` and `last_modified`,
/// without building a tree (the same raw treatment our client gives its pages).
enum KintoPage {
    struct Record {
        var id: String
        var lastModified: Int64
        var range: Range<Int>
    }

    static func records(in bytes: [UInt8]) throws -> [Record] {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "[")) else { throw ValidationError("no record list in Kinto's answer") }
        var records: [Record] = []
        var index = open + 1
        var depth = 0
        var start = 0
        var id = ""
        var lastModified: Int64 = 0
        var key: [UInt8] = []
        var expectingValue = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                var end = index + 1
                while bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
                let text = Array(bytes[(index + 1)..<end])
                if depth == 1 {
                    if expectingValue {
                        if key == Array("id".utf8) { id = String(decoding: text, as: UTF8.self) }
                        expectingValue = false
                    } else {
                        key = text
                    }
                }
                index = end
            case UInt8(ascii: ":") where depth == 1:
                expectingValue = true
            case UInt8(ascii: ","):
                if depth == 1 { expectingValue = false }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth == 0 { start = index }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return records }
                depth -= 1
                if depth == 0 { records.append(Record(id: id, lastModified: lastModified, range: start..<(index + 1))) }
            case UInt8(ascii: "0")...UInt8(ascii: "9") where depth == 1 && expectingValue:
                var value: Int64 = 0
                while bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9") {
                    value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                    index += 1
                }
                if key == Array("last_modified".utf8) { lastModified = value }
                expectingValue = false
                continue
            default:
                break
            }
            index += 1
        }
        throw ValidationError("Kinto's record list ended early")
    }
}
