import CaseSyncDomain
import CaseSyncProtocol
import Testing

@Suite("Finding an authority in the register")
struct AuthoritySearchTests {
    static let register = AuthoritySearch([
        Authority(id: "gm0344", name: "Gemeente Utrecht", postalAddress: ["Postbus 16200", "3500 CE Utrecht"]),
        Authority(id: "gm0363", name: "Gemeente Amsterdam", postalAddress: ["Postbus 202", "1000 AE Amsterdam"]),
        Authority(id: "gm0193", name: "Gemeente Zwolle", postalAddress: ["Postbus 10007", "8000 GA Zwolle"]),
        Authority(id: "gm0307", name: "Gemeente Amersfoort", postalAddress: ["Postbus 4000", "3800 EA Amersfoort"]),
        Authority(id: "gm0599", name: "Gemeente Rotterdam", postalAddress: ["Postbus 70012", "3000 KP Rotterdam"]),
    ])

    @Test(arguments: [
        ("gm0344", "gm0344"), ("GM0344", "gm0344"), ("Gemeente Utrecht", "gm0344"), ("utrecht", "gm0344"),
        ("  gemeente   ZWOLLE ", "gm0193"), ("amersf", "gm0307"), ("Rotterdäm", "gm0599"),
    ])
    func anIdOrAnUnambiguousNameFindsIt(text: String, id: String) {
        #expect(Self.register.resolve(text) == .found(Self.register.authorities.first { $0.id == id }!))
    }

    @Test func aPartThatNamesSeveralAsksWhichOne() {
        guard case .ambiguous(let matches) = Self.register.resolve("gemeente a") else {
            Issue.record("expected a choice")
            return
        }
        #expect(matches.map(\.id) == ["gm0307", "gm0363"], "by name")
    }

    @Test(arguments: [
        ("gemeente-utrech", ["gm0344"]), ("utrekht", ["gm0344"]), ("gm0343", ["gm0344", "gm0363"]), ("zwole", ["gm0193"]),
        ("Amsterdm", ["gm0363"]),
    ])
    func aSlipOfTheKeyboardGetsTheClosestNames(text: String, suggested: [String]) {
        guard case .unknown(let suggestions) = Self.register.resolve(text) else {
            Issue.record("\(text) should not match")
            return
        }
        // The closest come first (equally close ones by name).
        #expect(Set(suggestions.map(\.id).prefix(suggested.count)) == Set(suggested), "\(suggestions.map(\.id))")
    }

    @Test func standingIsByExactId() {
        #expect(Self.register.standing(of: "gm0344") == .registered)
        #expect(Self.register.standing(of: "Utrecht") != .registered, "a name is resolved first, never filed as an id")
        guard case .unknown(let suggestions) = Self.register.standing(of: "gm0343") else {
            Issue.record("gm0343 is not registered")
            return
        }
        #expect(suggestions.map(\.id).contains("gm0344"))
    }

    @Test func somethingUnlikeAnyNameSuggestsNothing() {
        #expect(Self.register.resolve("belastingdienst") == .unknown(suggestions: []))
        #expect(Self.register.resolve("") == .unknown(suggestions: []))
    }
}
