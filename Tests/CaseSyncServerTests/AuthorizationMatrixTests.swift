import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import Foundation
import Testing

/// Who may see and touch what, as a table over real HTTP: every role (citizen, officer), every
/// endpoint (pull, push) and every operation, on a draft and on a submitted case, by the case's own
/// citizen (two devices), another citizen, an officer of the case's authority and one of another.
/// 0 leaks: nothing outside a caller's scope shows in a pull, and no mutation outside it applies.
/// 0 oracles: every answer about a case the caller may not see is byte for byte the answer about a
/// case that does not exist.
@Suite("Authorization matrix over HTTP")
struct AuthorizationMatrixTests {
    enum Target: String, CaseIterable { case draft, submitted }

    /// Every operation a push can carry, aimed at `caseId` by the device with `clientId`.
    static func operations(clientId: String, serial: Int) -> [(String, MutationOperation)] {
        [
            ("edit a shared field", .edit([FieldChange(field: "contactEmail", from: nil, to: "probe@example.org")])),
            ("edit an officer's field", .edit([FieldChange(field: "decisionOutcome", from: nil, to: "upheld")])),
            ("edit the citizen's grounds", .edit([FieldChange(field: "grounds", from: "My permit was valid", to: "Forged")])),
            ("receive", .transition(StatusTransition(to: .received))),
            ("decide", .transition(StatusTransition(to: .decided, fields: ["decisionOutcome": "upheld"]))),
            ("withdraw", .transition(StatusTransition(to: .withdrawn))),
            ("send a message", .addMessage(id: testId("m\(serial)", by: clientId), body: "Probe")),
            ("delete", .delete),
            ("postpone", .deadline(DeadlineChange(action: .postpone, weeks: 2, consent: false))),
            ("resolve a conflict", .resolveConflict(conflictId: testId("conflict"), keep: .mine)),
        ]
    }

    @Test(arguments: StoreBackend.underTest) func noLeaksAndNoOracles(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let annaLaptop = try await server.device(of: anna.account.id)
            let bert = try await server.device(.citizen, name: "Bert")
            let olga = try await server.device(.officer, name: "Olga", authority: "gm0344")
            let zeno = try await server.device(.officer, name: "Zeno", authority: "gm0193")
            let cases: [Target: String] = [.draft: testId("draft", by: anna.clientId), .submitted: testId("filed", by: anna.clientId)]
            _ = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [
                    .create(1, caseId: cases[.draft]!), .create(2, caseId: cases[.submitted]!), .submit(3, caseId: cases[.submitted]!),
                ]), token: anna.token)
            let ghost = testId("ghost", by: anna.clientId)

            // Who sees which case: the table the rest follows.
            let actors: [(name: String, device: RedeemResponse, sees: Set<Target>)] = [
                ("the citizen", anna, [.draft, .submitted]), ("the citizen's second device", annaLaptop, [.draft, .submitted]),
                ("another citizen", bert, []), ("an officer of the authority", olga, [.submitted]),
                ("an officer of another authority", zeno, []),
            ]
            let before = try await scopes(of: actors.map(\.device), http: http)
            for (actor, caseIds) in zip(actors, before) {
                let visible = Set(Target.allCases.filter { target in caseIds.contains { $0.hasPrefix("case:\(cases[target]!)@") } })
                #expect(visible == actor.sees, "\(actor.name) sees \(visible.map(\.rawValue))")
            }

            // Probes of cases an actor may not see, each beside the same probe of a case that does not exist.
            var nextId: [String: Int64] = [anna.clientId: 4]
            var probes = 0
            for actor in actors {
                for target in Target.allCases where !actor.sees.contains(target) {
                    for (label, operation) in Self.operations(clientId: actor.device.clientId, serial: probes) {
                        let first = nextId[actor.device.clientId, default: 1]
                        let pair = [cases[target]!, ghost].enumerated().map { offset, caseId in
                            Mutation(
                                mutationId: first + Int64(offset), caseId: caseId, baseVersion: 2,
                                hlc: HLCTimestamp(millis: 5_000 + first, counter: 0, node: "t"), operation: operation)
                        }
                        let answer = try await http.push(
                            PushRequest(stamping: actor.device.clientId, mutations: pair), token: actor.device.token)
                        nextId[actor.device.clientId] = first + 2
                        probes += 1
                        let (probe, control) = (answer.outcomes[0], answer.outcomes[1])
                        #expect(probe.status == .rejected, "leak: \(actor.name) could \(label) the \(target) case")
                        #expect(
                            probe.code == control.code && probe.message == control.message,
                            "oracle: \(actor.name) told apart the \(target) case from none when trying to \(label)")
                    }
                }
            }
            #expect(probes == 5 * Self.operations(clientId: "x", serial: 0).count)

            // Nothing of that reached anyone's scope.
            let after = try await scopes(of: actors.map(\.device), http: http)
            #expect(after == before, "the probes changed what someone sees")

            // Those who may see a case reach its rules (never told it does not exist).
            for actor in actors {
                for target in actor.sees {
                    let first = nextId[actor.device.clientId, default: 1]
                    let mutation = Mutation(
                        mutationId: first, caseId: cases[target]!, baseVersion: 2,
                        hlc: HLCTimestamp(millis: 9_000 + first, counter: 0, node: "t"),
                        operation: .edit([FieldChange(field: "contactPhone", from: nil, to: "+31 30 000 0000")]))
                    let answer = try await http.push(
                        PushRequest(stamping: actor.device.clientId, mutations: [mutation]), token: actor.device.token)
                    nextId[actor.device.clientId] = first + 1
                    #expect(answer.outcomes[0].code != .caseNotFound, "\(actor.name) was told the \(target) case does not exist")
                }
            }
        }
    }

    /// Every record each device's pull shows, as `type:id@version`.
    func scopes(of devices: [RedeemResponse], http: HTTPTransport) async throws -> [Set<String>] {
        var result: [Set<String>] = []
        for device in devices {
            var seen: Set<String> = []
            var cursor: String?
            for _ in 0..<100 {
                let page = try await http.pullPage(cursor: cursor, limit: nil, token: device.token)
                seen.formUnion(page.changes.map { "\($0.type.rawValue):\($0.id)@\($0.version)" })
                cursor = page.cursor
                if !page.hasMore { break }
            }
            result.append(seen)
        }
        return result
    }
}
