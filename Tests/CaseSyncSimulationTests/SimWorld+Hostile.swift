import CaseSyncProtocol
import CaseSyncServer
import Foundation

extension SimWorld {
    /// Bert's second device, hostile, sends bytes crafted by hand among the honest devices' traffic:
    /// forged and future clocks, others' ids, extreme numbers, odd strings and nesting. Each must be
    /// refused whole with a client error; the invariants still hold for every honest device.
    func craftedPush() async {
        guard let transport = server.transport else { return }
        let client = rogue.credentials.clientId
        let annaCases = devices.first { $0.name == "anna-phone" }.flatMap { try? $0.client.cases().map(\.id) } ?? []
        let someoneElse = devices.first { $0.name == "anna-phone" }?.clientId ?? "someone"
        let caseId = source.pick(annaCases) ?? source.makeId()
        let next = rogue.nextMutationId
        let now = source.now().millisecondsSince1970
        let edit = #""op":"edit","baseVersion":1,"changes":[{"field":"contactEmail","from":null,"to":"rogue@example.org"}]"#
        let mutation = { (id: String, hlc: String, rest: String) in
            #"{"clientId":"\#(client)","mutations":[{"mutationId":\#(next),"caseId":"\#(id)","hlc":"\#(hlc)",\#(rest)}]}"#
        }
        let reading = { (millis: Int64, node: String) in String(format: "%013lld-0000-", millis) + node }
        let crafted: [(String, [UInt8])] = [
            ("another device's clock node", Array(mutation(caseId, reading(now, someoneElse), edit).utf8)),
            ("a clock a day ahead", Array(mutation(caseId, reading(now + 86_400_000, client), edit).utf8)),
            ("a node that closes the clocks object", Array(mutation(caseId, reading(now, #"x\"},\"status\":\"decided"#), edit).utf8)),
            ("someone else's case id for a new case", Array(mutation(
                caseId, reading(now, client),
                #""op":"create","case":{"kind":"objection","authorityId":"gm0344","fields":{"title":"Mine now"}}"#).utf8)),
            ("mutation ids at the 64-bit edge", Array(
                #"{"clientId":"\#(client)","mutations":[{"mutationId":9223372036854775807,"caseId":"\#(caseId)","hlc":"\#(reading(now, client))","op":"delete"},{"mutationId":9223372036854775807,"caseId":"\#(caseId)","hlc":"\#(reading(now, client))","op":"delete"}]}"#.utf8)),
            ("nesting 5,000 deep", Array((#"{"clientId":"\#(client)","x":"# + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + #","mutations":[]}"#).utf8)),
            ("invalid UTF-8 in a string", Array(#"{"clientId":"\#(client)","mutations":[],"x":""#.utf8) + [0xC3, 0x28, 0x22, 0x7D]),
            ("a raw NUL in a value", Array(mutation(caseId, reading(now, client), #""op":"add_message","messageId":"\#(source.makeId())","body":"a\#u{0}b""#).utf8)),
            ("an id of 100,000 bytes", Array(mutation(String(repeating: "a", count: 100_000), reading(now, client), #""op":"delete""#).utf8)),
        ]
        let (label, body) = crafted[source.int(0..<crafted.count)]
        do {
            let answer = try await transport.push(json: body, token: rogue.credentials.token)
            findings.append("the rogue's crafted push (\(label)) was answered 200 with \(answer.outcomes.map(\.status))")
        } catch {
            switch error {
            case .server(let status, let envelope) where (400..<500).contains(status):
                rogue.craftedRefused += 1
                log("rogue crafts \(label): \(status) \(envelope.code.rawValue)")
            case .unreachable:
                log("rogue crafts \(label): the server is unreachable")
            default:
                findings.append("the rogue's crafted push (\(label)) got \(error)")
            }
        }
    }
}
