import CaseSyncProtocol
import Foundation

/// The check that every input of the fuzz target `FuzzReader` and of `FuzzReplayTests` gets: each
/// strict reader of the protocol either refuses the bytes, or reads a value that reads back the same
/// from its own JSON and that Foundation reads the same. This file is also part of the fuzz target
/// (`Fuzz/Sources/FuzzReader/ReaderAgreement.swift` links to it).
enum ReaderAgreement {
    /// What is wrong with how the readers took `bytes`; empty when they refused them or agreed.
    static func problems(_ bytes: [UInt8]) -> [String] {
        var problems: [String] = []
        func check(_ holds: Bool, _ problem: @autoclosure () -> String) { if !holds { problems.append(problem()) } }
        let data = Data(bytes)
        let valid = (try? WireCoding.validate(bytes)) != nil
        if valid {
            check(
                (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil,
                "validate accepts JSON that JSONSerialization refuses")
        }
        do {
            let push = try PushRequest(json: bytes)
            check(valid, "PushRequest(json:) accepts what validate refuses")
            check((try? PushRequest(json: push.jsonBytes)) == push, "a push does not read back from its own JSON")
            check((try? JSONDecoder().decode(PushRequest.self, from: data)) == push, "JSONDecoder reads the push differently")
        } catch {
            // How the server words the refusal must not crash either.
            _ = (WireCoding.isSyntaxError(error), WireCoding.describe(error))
        }
        if let response = try? PushResponse(json: bytes) {
            check(valid, "PushResponse(json:) accepts what validate refuses")
            check((try? PushResponse(json: response.jsonBytes)) == response, "a push answer does not read back from its own JSON")
            check(
                (try? JSONDecoder().decode(PushResponse.self, from: data)) == response, "JSONDecoder reads the push answer differently")
        }
        if let page = try? RawPullResponse(json: bytes) {
            check(valid, "RawPullResponse(json:) accepts what validate refuses")
            // A tombstone is written without its data.
            var written = page
            for index in written.changes.indices where written.changes[index].deleted { written.changes[index].data = nil }
            check((try? RawPullResponse(json: page.jsonBytes)) == written, "a pull page does not read back from its own JSON")
        }
        // Records a device reads from its own store (as the server sent them).
        if let record = try? CaseRecord(json: data) {
            check(valid, "CaseRecord(json:) accepts what validate refuses")
            check((try? JSONDecoder().decode(CaseRecord.self, from: data)) == record, "JSONDecoder reads the case record differently")
        }
        if let event = try? TimelineEvent(json: data) {
            check(valid, "TimelineEvent(json:) accepts what validate refuses")
            check((try? JSONDecoder().decode(TimelineEvent.self, from: data)) == event, "JSONDecoder reads the timeline event differently")
        }
        // gzip, which a server unpacks from any device: never more than its limit, and what it unpacks
        // packs and unpacks to itself.
        if let unpacked = try? Gzip.decompress(bytes, limit: 1 << 20) {
            check(unpacked.count <= 1 << 20, "gzip unpacked past its limit")
            check(Gzip.compress(unpacked).flatMap { try? Gzip.decompress($0, limit: 1 << 20) } == unpacked, "gzip does not round-trip")
        }
        // Messages off the sync path, decoded by `WireCoding.decode` (the strict check, then JSONDecoder).
        check(roundTrips(RedeemRequest.self, bytes, valid), "a RedeemRequest does not round-trip")
        check(roundTrips(RedeemResponse.self, bytes, valid), "a RedeemResponse does not round-trip")
        check(roundTrips(ErrorEnvelope.self, bytes, valid), "an ErrorEnvelope does not round-trip")
        check(roundTrips(DiscoveryResponse.self, bytes, valid), "a DiscoveryResponse does not round-trip")
        check(roundTrips(AuthorityRegister.self, bytes, valid), "an AuthorityRegister does not round-trip")
        return problems
    }

    /// Whether a message that `WireCoding.decode` reads, if it reads one, was valid JSON and encodes and
    /// decodes again to the same value.
    private static func roundTrips<T: Codable & Equatable>(_ type: T.Type, _ bytes: [UInt8], _ valid: Bool) -> Bool {
        guard let value = try? WireCoding.decode(T.self, from: bytes) else { return true }
        guard valid, let again = try? WireCoding.encoder().encode(value) else { return false }
        return (try? WireCoding.decode(T.self, from: again)) == value
    }
}
