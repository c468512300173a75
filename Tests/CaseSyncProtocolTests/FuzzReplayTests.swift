import CaseSyncProtocol
import Foundation
import Testing

/// Replays the fuzz inputs (`Fuzz/FailCases/`, every input that ever crashed a fuzz target, and the
/// reader's seed corpus `Fuzz/Corpus/reader/`) through the strict readers: each must refuse the
/// input or agree with Foundation about it, as `FuzzReader` checks (`ReaderAgreement`).
@Suite("Fuzz inputs replayed")
struct FuzzReplayTests {
    static let fuzz = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    /// Paths below `Fuzz/`, such as `FailCases/reader-number-beyond-double`.
    static let inputs: [String] = ["FailCases", "Corpus/reader"].flatMap { folder in
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fuzz.appendingPathComponent(folder).path)) ?? []
        return names.filter { !$0.hasSuffix(".md") }.sorted().map { folder + "/" + $0 }
    }

    @Test(arguments: inputs)
    func readersRefuseOrAgreeWithFoundation(input: String) throws {
        let bytes = [UInt8](try Data(contentsOf: Self.fuzz.appendingPathComponent(input)))
        #expect(ReaderAgreement.problems(bytes) == [], "\(input)")
    }

    @Test func theInputsAreThere() {
        #expect(Self.inputs.contains("FailCases/reader-number-beyond-double"))
        #expect(Self.inputs.count(where: { $0.hasPrefix("Corpus/reader/") }) > 100)
    }

    /// The one difference fuzzing found: a number no double holds, which JSONSerialization refuses and
    /// the strict reader once skipped. Both refuse it now, so the check needs no exception.
    @Test func numbersNoDoubleHoldsAreRefusedLikeFoundationDoes() {
        for text in [#"{"a":[1,2e666]}"#, "[" + String(repeating: "9", count: 400) + "]", "-1e999"] {
            #expect((try? WireCoding.validate(Array(text.utf8))) == nil, "\(text.prefix(20))")
            #expect(ReaderAgreement.problems(Array(text.utf8)) == [])
        }
        // Within range, and inside strings, they are fine.
        #expect((try? WireCoding.validate(Array(#"{"a":[1e308,"2e666",-1e-400,123456789012345678901234]}"#.utf8))) != nil)
        #expect(ReaderAgreement.problems(Array(#"{"clientId":"c","mutations":[]}"#.utf8)) == [])
    }
}
