import CaseSyncProtocol

/// libFuzzer's entry point: the bytes go to every strict reader of the protocol (see
/// `ReaderAgreement`). A reader that crashes, or accepts something it then disagrees with Foundation
/// about, stops the process, which libFuzzer records with the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReader(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    let problems = ReaderAgreement.problems(bytes)
    if !problems.isEmpty {
        fatalError("the strict readers and Foundation disagree: " + problems.joined(separator: "; "))
    }
    return 0
}
