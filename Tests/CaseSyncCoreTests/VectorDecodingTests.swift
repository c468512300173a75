import CaseSyncProtocol
import Foundation
import Testing

/// Loads `Protocol/vectors/*.json` on the client side: every request the client could send and every
/// answer it must read decodes into the client's types and encodes back to the same JSON, and the
/// checksum in each final pull page equals the checksum the client computes over what it pulled.
@Suite("Protocol test vectors (client side)")
struct VectorDecodingTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Protocol/vectors")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    /// Decodes `object` as `T` and encodes it again; the JSON must be the same.
    func roundTrip<T: Codable>(_ type: T.Type, _ object: Any, _ label: String) throws -> T {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed])
        let value = try WireCoding.decoder().decode(T.self, from: data)
        let again = try JSONSerialization.jsonObject(with: try WireCoding.encoder().encode(value), options: [.fragmentsAllowed])
        #expect(canonical(again) == canonical(object), "\(label) does not round-trip through \(T.self)")
        return value
    }

    @Test(arguments: files)
    func clientTypesReadAndWriteEveryExchange(file: String) throws {
        // Devices' client ids stand as placeholders in the files: the one the server gave the device when
        // the vector was recorded (or one of the name's letters), and so the ids it created.
        let original = try String(contentsOf: Self.directory.appendingPathComponent(file), encoding: .utf8)
        let devices = (try JSONSerialization.jsonObject(with: Data(original.utf8)) as? [String: Any])?["devices"] as? [[String: Any]] ?? []
        var clientIds: [String: String] = [:]
        for device in devices {
            if let name = device["name"] as? String { clientIds[name] = device["clientId"] as? String ?? "client-" + name }
        }
        let clientId = { (name: Substring) in clientIds[String(name)] ?? "client-" + name }
        let text = original
            .replacing(/\{\{createdId:([a-z0-9-]+):([0-9a-f-]{36})\}\}/) {
                CreatedId.make(from: String($0.output.2), clientId: clientId($0.output.1))
            }
            .replacing(/\{\{clientId:([a-z0-9-]+)\}\}/) { clientId($0.output.1) }
        let vector = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var pulled: [String: [String: (RecordType, Int64)]] = [:]
        var checkedChecksums = 0
        for (index, step) in (vector["steps"] as? [[String: Any]] ?? []).enumerated() {
            let label = "\(file) step \(index + 1)"
            let request = try #require(step["request"] as? [String: Any])
            let response = try #require(step["response"] as? [String: Any])
            let path = (request["path"] as? String ?? "").split(separator: "?").first.map(String.init) ?? ""
            let status = response["status"] as? Int ?? 0
            let body = response["body"] ?? NSNull()
            if let requestBody = request["body"] {
                switch path {
                case "/sync/push":
                    // Requests a vector sends on purpose with wrong types are for the server's error handling.
                    if status == 200 || status == 409 { _ = try roundTrip(PushRequest.self, requestBody, label + " request") }
                case "/auth/redeem": _ = try roundTrip(RedeemRequest.self, requestBody, label + " request")
                default: break
                }
            }
            guard (200..<300).contains(status) else {
                let envelope = try roundTrip(ErrorEnvelope.self, body, label + " error")
                #expect(!envelope.error.message.isEmpty)
                continue
            }
            switch path {
            case "/.well-known/casesync": _ = try roundTrip(DiscoveryResponse.self, body, label)
            case "/auth/redeem": _ = try roundTrip(RedeemResponse.self, body, label)
            case "/sync/push": _ = try roundTrip(PushResponse.self, body, label)
            case "/devices": _ = try roundTrip(DeviceList.self, body, label)
            case "/auth/logout": _ = try roundTrip(DeviceInfo.self, body, label)
            case _ where path.hasPrefix("/devices/"): _ = try roundTrip(DeviceInfo.self, body, label)
            case "/sync/pull":
                let page = try roundTrip(PullResponse.self, body, label)
                // The raw reader the client stores from agrees with the typed decoding.
                let raw = try RawPullResponse(json: try JSONSerialization.data(withJSONObject: body))
                #expect(raw.cursor == page.cursor && raw.hasMore == page.hasMore && raw.checksum == page.checksum)
                #expect(raw.changes.count == page.changes.count)
                for (rawChange, change) in zip(raw.changes, page.changes) {
                    #expect(rawChange.id == change.id && rawChange.seq == change.seq && rawChange.version == change.version)
                    #expect(rawChange.deleted == change.deleted && rawChange.type == change.type && rawChange.caseId == change.caseId)
                    if let data = rawChange.data, case .case(let record) = change.data {
                        #expect(try WireCoding.decoder().decode(CaseRecord.self, from: data) == record)
                    }
                }
                let device = step["device"] as? String ?? ""
                let query = (request["path"] as? String ?? "").contains("cursor=")
                // Only a device that pulled from the start holds its whole scope; a pull from the start
                // replaces what it held.
                if !query { pulled[device] = [:] }
                guard pulled[device] != nil else { continue }
                for change in page.changes {
                    if change.deleted { pulled[device, default: [:]][change.id] = nil }
                    else { pulled[device, default: [:]][change.id] = (change.type, change.version) }
                }
                if let checksum = page.checksum, !page.hasMore {
                    var accumulator = ChecksumAccumulator()
                    for (id, record) in pulled[device] ?? [:] { accumulator.add(type: record.0, id: id, version: record.1) }
                    #expect(accumulator.checksum == checksum, "\(label): checksum")
                    checkedChecksums += 1
                }
            default: break
            }
        }
        if file.contains("follow") { #expect(checkedChecksums >= 3) }
    }
}

func canonical(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else {
        return "\(value)"
    }
    return String(decoding: data, as: UTF8.self)
}

@Suite("Raw pull reader")
struct RawPullReaderTests {
    @Test func readsEscapesUnknownPropertiesAndTombstones() throws {
        let json = #"""
        {"future":{"a":[1,2,{"b":null}]},"changes":[
          {"seq":5,"type":"message","id":"m\"1","caseId":"c","version":1,"deleted":false,
           "data":{"body":"line\nbreak \u00e9 {not a brace}","nested":[{"x":"]"}]},"extra":true},
          {"seq":6,"type":"case","id":"c","caseId":"c","version":2,"deleted":true,"data":null}],
         "cursor":"6","hasMore":false,"checksum":{"count":1,"digest":"00000000000000ff"}}
        """#
        let page = try RawPullResponse(json: Array(json.utf8))
        #expect(page.changes.map(\.id) == ["m\"1", "c"])
        #expect(page.changes[1].data == nil && page.changes[1].deleted)
        let data = try #require(page.changes[0].data)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["body"] as? String == "line\nbreak é {not a brace}")
        #expect(page.checksum == StateChecksum(count: 1, digest: "00000000000000ff"))
    }

    @Test(arguments: [#"{"changes":[{"seq":1}],"cursor":"1","hasMore":false}"#, #"{"changes":[],"cursor":"1""#, "[]", ""])
    func refusesWhatIsNotAPullAnswer(json: String) {
        #expect(throws: (any Error).self) { try RawPullResponse(json: Array(json.utf8)) }
    }
}
