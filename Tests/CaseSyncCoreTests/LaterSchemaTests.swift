import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import Foundation
import Testing

/// A device of this version syncing with a server of a later minor version of protocol 1
/// (`Protocol/vectors/client/later-minor-version.json`, PROTOCOL.md §3 "Evolution").
@Suite("Client core: what a later server sends")
struct LaterSchemaTests {
    static let objectionId = "5f0c1e2a-0000-4000-8000-00000000c001"
    static let appealId = "5f0c1e2a-0000-4000-8000-00000000c002"

    /// The vector's pull pages, as the bytes the later server sent.
    static func pages() throws -> [(cursor: String?, body: Data)] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Protocol/vectors/client/later-minor-version.json")
        let vector = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let steps = try #require(vector["steps"] as? [[String: Any]])
        return try steps.map { step in
            let path = try #require((step["request"] as? [String: Any])?["path"] as? String)
            let body = try #require((step["response"] as? [String: Any])?["body"])
            let cursor = URLComponents(string: path)?.queryItems?.first { $0.name == "cursor" }?.value
            return (cursor, try JSONSerialization.data(withJSONObject: body))
        }
    }

    @Test func anOldDeviceKeepsWhatItDoesNotKnowAndShowsTheRest() async throws {
        let pages = try Self.pages()
        let transport = ScriptedTransport(rawPages: pages.map(\.body))
        let client = try await LocalStoreTests.loggedIn(transport)
        let report = try await client.sync(transport: transport)

        #expect(transport.log.withLock(\.pulls) == pages.map(\.cursor), "every page applied once; the checksums agree, so no re-pull")
        #expect(report.pulled == 8)
        let reminders = try client.serverCopy().filter { $0.type.rawValue == "reminder" }
        #expect(reminders.map(\.id) == ["5f0c1e2a-0000-4000-8000-0000000a0002", "5f0c1e2a-0000-4000-8000-0000000a0001"])
        #expect(reminders.last?.version == 2, "a later record of an unknown type replaces the earlier one")
        let sent = try JSONSerialization.jsonObject(with: #require(reminders.last).data) as? [String: Any]
        #expect(sent?["dueAt"] as? String == "2026-03-21T09:00:00.000Z", "kept as it came")
        #expect(try client.localChecksum() == StateChecksum(count: 7, digest: "fe0e26efd88fea1b"))

        #expect(Set(try client.cases().map(\.id)) == [Self.objectionId, Self.appealId], "a case of an unknown kind is listed")
        let appeal = try client.detail(caseId: Self.appealId)
        #expect(appeal.local.record.kind.rawValue == "appeal" && !appeal.local.record.kind.isKnown)
        let objection = try client.detail(caseId: Self.objectionId)
        #expect(objection.events.map(\.type.rawValue) == ["created", "status_changed", "mediation_offered"])
        #expect(try client.deadlines(caseId: Self.objectionId).decisionPeriod != nil, "an unknown event type is passed over, not fatal")

        #expect(throws: ClientError.self, "a case of a kind this version does not know is read-only") {
            try client.edit(caseId: Self.appealId, set: [.title: "Another title"])
        }
        try client.sendMessage(caseId: Self.objectionId, body: "Is there news?")
        #expect(try client.pendingMutations().count == 1)
    }
}
