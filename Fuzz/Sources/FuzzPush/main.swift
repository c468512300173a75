import CaseSyncProtocol
import CaseSyncServer
import Foundation

/// libFuzzer's entry point: the bytes are a push body, sent through the server's whole push path
/// (strict reader, validation, rules, store) on a fresh copy of `PushWorld`. Placeholders keep
/// mutated seeds meaningful: `CLIENT` and `OFFICER` stand for the two devices' client ids, `CASE` for
/// the filed case's id and `NEWID` for an id the pushing device may create. The officer's device
/// pushes when the bytes name `OFFICER`, else the citizen's.
///
/// A refusal (4xx) is an answer; an internal error (500), an answer that breaks the protocol's
/// promises, a pull that fails after it, or a crash stops the process, which libFuzzer records with
/// the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPush(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let world = PushWorld.shared
    let input = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: start, count: count))
    let device = input.firstRange(of: Array("OFFICER".utf8)) != nil ? world.officer : world.citizen
    let placeholders = [
        ("OFFICER", world.officer.clientId), ("CLIENT", world.citizen.clientId),
        ("NEWID", world.newId(by: device.clientId)), ("CASE", world.caseId),
    ]
    let body = placeholders.reduce(input) { body, placeholder in
        body.replacing(Array(placeholder.0.utf8), with: Array(placeholder.1.utf8))
    }
    let token = device.token
    let result = blocking {
        let transport = try world.transport()
        let answer = try await transport.push(json: body, token: token)
        // Whatever the push stored, both devices pull and decode.
        do {
            for device in [world.citizen, world.officer] { _ = try await transport.pull(cursor: nil, limit: nil, token: device.token) }
        } catch {
            throw PullAfterPushFailed(error: error)
        }
        return answer
    }
    if verbose { print(result) }
    switch result {
    case .success(let answer):
        // One outcome per mutation, in order, and an answer the client reads back.
        let request = try? PushRequest(json: body)
        guard answer.outcomes.map(\.mutationId) == request?.mutations.map(\.mutationId) else {
            fatalError("the outcomes do not match the mutations: \(answer)")
        }
        guard (try? PushResponse(json: answer.jsonBytes)) == answer else { fatalError("the answer does not read back: \(answer)") }
    case .failure(SyncTransportError.server(let status, _)) where (400..<500).contains(status):
        break
    case .failure(let error):
        fatalError("the push path failed: \(error)")
    }
    return 0
}

/// Set `FUZZ_VERBOSE=1` to see how the server answered each input (when replaying one).
let verbose = getenv("FUZZ_VERBOSE") != nil

/// A pull that failed after a push was answered: never an expected refusal.
struct PullAfterPushFailed: Error {
    let error: any Error
}
