import CaseSyncProtocol
import Foundation
import Testing

/// The strict reader: what it refuses, that no input can make it recurse without bound, and that
/// whatever it accepts Foundation's decoder reads to the same value.
@Suite("Strict JSON reader")
struct StrictReaderTests {
    static let caseId = "5f0c1e2a-0000-4000-8000-00000000c001"

    @Test func aPullAnswerNestedAHundredThousandDeepIsAnErrorNotACrash() {
        let depth = 100_000
        let body = #"{"changes":[{"seq":1,"type":"case","id":"\#(Self.caseId)","version":1,"data":"#
            + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + #"}],"cursor":"1","hasMore":false}"#
        #expect(throws: JSONReadError.self) { _ = try RawPullResponse(json: Array(body.utf8)) }
    }

    @Test(arguments: [
        ("nesting past the limit", String(repeating: "[", count: 33) + String(repeating: "]", count: 33)),
        ("trailing bytes", "{} x"), ("two values", "[] []"), ("a duplicate key", #"{"a":1,"a":1}"#),
        ("a raw newline in a string", "[\"a\nb\"]"), ("a raw NUL", "[\"a\u{0}b\"]"), ("a lone high surrogate", #"["\ud800"]"#),
        ("a lone low surrogate", #"["\udc00x"]"#), ("an unknown escape", #"["\q"]"#), ("a leading zero", "[01]"), ("a number no double holds", "[2e666]"), ("four hundred digits", "[" + String(repeating: "9", count: 400) + "]"),
        ("a bare minus", "[-]"), ("a dot without digits", "[1.]"), ("an empty exponent", "[1e]"), ("a trailing comma", "[1,]"),
        ("single quotes", "['a']"), ("a bare word", "[nul]"), ("nothing", ""), ("an unterminated string", #"["abc"#),
    ])
    func refuses(label: String, text: String) {
        #expect(throws: JSONReadError.self, "\(label)") { try WireCoding.validate(Array(text.utf8)) }
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [[0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D], [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], [0x5B, 0x22, 0xFF, 0x22, 0x5D]] {
            #expect(throws: JSONReadError.self) { try WireCoding.validate(bytes) }
        }
    }

    @Test(arguments: [
        "[32]", #"{"a":[1,-0,0.5,1e10,-2.5E-3,true,false,null,"x"]}"#, #"["\u00e9\ud83d\ude42\n\t\"\\\/"]"#, " [ ] ",
        String(repeating: "[", count: 32) + String(repeating: "]", count: 32),
    ])
    func accepts(text: String) throws {
        try WireCoding.validate(Array(text.utf8))
        _ = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    @Test func integersAreCheckedForOverflow() throws {
        func push(_ id: String) -> [UInt8] {
            Array(#"{"clientId":"c","mutations":[{"mutationId":\#(id),"caseId":"\#(Self.caseId)","hlc":"0000000000001-0000-c","op":"delete"}]}"#.utf8)
        }
        #expect(try PushRequest(json: push("9223372036854775807")).mutations[0].mutationId == .max)
        #expect(try PushRequest(json: push("-9223372036854775808")).mutations[0].mutationId == .min)
        for bad in ["9223372036854775808", "-9223372036854775809", "99999999999999999999", "1.0", "1e3"] {
            #expect(throws: JSONReadError.self, "\(bad)") { _ = try PushRequest(json: push(bad)) }
        }
    }

    /// Seeded random changes to valid pushes: whatever the strict reader accepts, Foundation's decoder
    /// accepts too and reads to the same request (bounded: 3,000 inputs).
    @Test func whatTheReaderAcceptsFoundationReadsTheSame() throws {
        var random = SplitMix(seed: 2026)
        let tricky = ["Quote \" backslash \\", "é 漢 🙂", "tab\tnew\nline", "\u{07}bell", "plain"]
        var accepted = 0
        for round in 0..<3_000 {
            let body = tricky[round % tricky.count]
            let request = PushRequest(clientId: "client-1", mutations: [
                Mutation(mutationId: Int64(round + 1), caseId: Self.caseId, baseVersion: Int64(round % 3),
                         hlc: HLCTimestamp(millis: 1_772_443_800_000 + Int64(round), counter: UInt16(round % 7), node: "client-1"),
                         operation: round % 2 == 0 ? .addMessage(id: Self.caseId, body: body)
                             : .edit([FieldChange(field: "grounds", from: nil, to: body)])),
            ])
            var bytes = request.jsonBytes
            // Change, insert or drop a few bytes.
            for _ in 0..<Int(random.next() % 3) {
                let position = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                case 1:
                    let structural = Array(#"{}[]",:0-e\ "#.utf8)
                    bytes.insert(structural[Int(random.next() % UInt64(structural.count))], at: position)
                default: bytes.remove(at: position)
                }
            }
            guard let strict = try? PushRequest(json: bytes) else { continue }
            accepted += 1
            let foundation = try JSONDecoder().decode(PushRequest.self, from: Data(bytes))
            #expect(strict == foundation, "input \(round): \(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(accepted > 1_000, "most unchanged inputs are accepted")
    }
}

/// SplitMix64, for seeded inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
