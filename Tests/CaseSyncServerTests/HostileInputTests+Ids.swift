import CaseSyncCore
import CaseSyncProtocol
import Foundation
import Testing

extension HostileInputTests {
    /// Attack 6: creating a case or message with an id someone else's record has once answered
    /// `case_exists` / `message_exists`, which told a stranger that the record exists. A device now
    /// names new records only in its own part of the id space (PROTOCOL.md §2), so every id outside it
    /// gets the same answer, byte for byte, whether a record has it or not.
    @Test func anotherDevicesIdsGetOneAnswerWhetherOrNotARecordHasThem() async throws {
        try await withScene { scene in
            let anna = scene.anna
            let annaMessage = testId("anna-msg", by: anna.clientId)
            let sent = try await scene.push(
                PushRequest(stamping: anna.clientId, mutations: [.message(3, caseId: scene.caseId, id: annaMessage)]).jsonBytes)
            #expect(sent.status == 200 && String(decoding: sent.body, as: UTF8.self).contains("applied"))

            let bert = try await scene.server.device(.citizen, name: "Bert")
            let bertCase = testId("bert-case", by: bert.clientId)
            let filed = try await scene.push(
                PushRequest(stamping: bert.clientId, mutations: [.create(1, caseId: bertCase, authority: "gm0193"), .submit(2, caseId: bertCase)]).jsonBytes, token: bert.token)
            #expect(filed.status == 200)

            let probes = [
                ("Anna's case", scene.caseId), ("an unused id of Anna's device", testId("unused", by: anna.clientId)),
                ("Anna's message", annaMessage), ("an id of no device", testId("nobody")),
            ]
            var creates: Set<Data> = []
            var messages: Set<Data> = []
            for (label, id) in probes {
                let create = try await scene.push(
                    PushRequest(stamping: bert.clientId, mutations: [.create(3, caseId: id)]).jsonBytes, token: bert.token)
                #expect(create.status == 400 && Self.errorCode(create.body) == .invalidRequest, "create with \(label)")
                creates.insert(create.body)
                let message = try await scene.push(
                    PushRequest(stamping: bert.clientId, mutations: [.message(3, caseId: bertCase, id: id)]).jsonBytes,
                    token: bert.token)
                #expect(message.status == 400 && Self.errorCode(message.body) == .invalidRequest, "message with \(label)")
                messages.insert(message.body)
            }
            #expect(creates.count == 1, "one answer for every id outside Bert's part of the id space")
            #expect(messages.count == 1, "one answer for every message id outside Bert's part of the id space")

            // His own ids work, and a collision with his own record is named: he can see it.
            let own = try await scene.push(
                PushRequest(stamping: bert.clientId, mutations: [
                    .message(3, caseId: bertCase, id: testId("bert-msg", by: bert.clientId)), .create(4, caseId: bertCase),
                ]).jsonBytes, token: bert.token)
            let outcomes = try WireCoding.decode(PushResponse.self, from: own.body).outcomes
            #expect(outcomes.map(\.status) == [.applied, .rejected] && outcomes.last?.code == .caseExists, "\(outcomes)")
            try await scene.expectIntact("ids of other devices")
        }
    }
}

extension Mutation {
    static func message(_ id: Int64, caseId: String, id messageId: String, body: String = "Any news?") -> Mutation {
        Mutation(
            mutationId: id, caseId: caseId, baseVersion: nil, hlc: HLCTimestamp(millis: 1_000 + id, counter: 0, node: "t"),
            operation: .addMessage(id: messageId, body: body))
    }
}
