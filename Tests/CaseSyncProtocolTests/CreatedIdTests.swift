import CaseSyncProtocol
import Testing

@Suite("Ids a device creates")
struct CreatedIdTests {
    /// The same values `tools/protocol_ids.py` computes, so the spec's tools and the library agree.
    @Test(arguments: [
        ("5f0c1e2a-0000-4000-8000-00000000c001", "client-anna", "00000000-0000-800c-8001-07f4f335b89f"),
        ("0123abcd-ef45-4678-9abc-def012345678", "gpfkvv3o55aqqjc3", "678abcde-f012-8345-9678-510ed3945af2"),
    ])
    func madeFromARandomIdAndTheDevicesTag(random: String, clientId: String, expected: String) {
        let id = CreatedId.make(from: random, clientId: clientId)
        #expect(id == expected)
        #expect(WireForm.isUUID(id))
        #expect(CreatedId.isCreated(id, by: clientId))
    }

    @Test func onlyTheCreatingDeviceMayUseAnId() {
        let id = CreatedId.make(from: "0123abcd-ef45-4678-9abc-def012345678", clientId: "anna-phone")
        #expect(!CreatedId.isCreated(id, by: "bert-phone"))
        #expect(!CreatedId.isCreated("0123abcd-ef45-4678-9abc-def012345678", by: "anna-phone"), "a version 4 id")
        #expect(!CreatedId.isCreated(id.uppercased(), by: "anna-phone"))
        var version4 = Array(id)
        version4[14] = "4"
        #expect(!CreatedId.isCreated(String(version4), by: "anna-phone"))
    }

    @Test func distinctRandomIdsStayDistinct() {
        var seen: Set<String> = []
        for counter in 0..<1_000 {
            let digits = String(counter, radix: 16)
            let random = "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
            seen.insert(CreatedId.make(from: random, clientId: "anna-phone"))
        }
        #expect(seen.count == 1_000)
    }
}
