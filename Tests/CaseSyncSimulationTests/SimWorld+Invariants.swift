import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerSQLite
import Foundation

extension SimWorld {
    /// Everything the server holds in a device's scope, pulled from the start.
    func truth(for device: SimDevice, transport: InProcessTransport) async throws -> (changes: [SyncChange], checksum: StateChecksum?) {
        var cursor: String?
        var changes: [SyncChange] = []
        for _ in 0..<1_000 {
            let page = try await transport.pull(cursor: cursor, limit: 5_000, token: device.token)
            changes += page.changes.filter { !$0.deleted }
            cursor = page.cursor
            if !page.hasMore { return (changes, page.checksum) }
        }
        throw SimulationFailure("the pull never ended")
    }

    /// Checks every guarantee after the schedule healed; appends what is broken to `findings`.
    func checkInvariants() async throws {
        guard let transport = server.transport else { throw SimulationFailure("the server is down after healing") }
        let encoder = WireCoding.encoder()
        let decoder = WireCoding.decoder()
        var raisedConflicts: Set<String> = []
        /// Edits whose merge raised a conflict, by conflict key: the device's name and the change it sent.
        var concurrentEdits: [String: (String, FieldChange)] = [:]
        var recordedConflicts: [String: ConflictRecord] = [:]
        let clientsOfSide: [ActorRole: Set<String>] = Dictionary(grouping: devices, by: \.role).mapValues { Set($0.map(\.clientId)) }
        var deadlinesSeen: [String: (device: String, deadlines: CaseDeadlines)] = [:]

        for device in devices {
            let name = device.name
            if let pending = try? device.client.pendingMutations(), !pending.isEmpty {
                findings.append("\(name): \(pending.count) mutation(s) still in the outbox after healing")
            }
            // 1. Convergence: the device holds exactly the server's state for its scope.
            let truth = try await truth(for: device, transport: transport)
            let held = try device.client.serverCopy()
            let expected = Dictionary(uniqueKeysWithValues: try truth.changes.map { change -> (String, (Int64, Data)) in
                let data: Data =
                    switch change.data {
                    case .case(let record): try encoder.encode(record)
                    case .event(let event): try encoder.encode(event)
                    case .message(let message): try encoder.encode(message)
                    case .conflict(let conflict): try encoder.encode(conflict)
                    case .attachment(let attachment): try encoder.encode(attachment)
                    case .unknown(_, let json): json
                    case nil: Data()
                    }
                return (change.id, (change.version, data))
            })
            let actual = Dictionary(uniqueKeysWithValues: held.map { ($0.id, ($0.version, $0.data)) })
            for (id, (version, data)) in expected where actual[id]?.0 != version || actual[id]?.1 != data {
                findings.append("\(name): record \(id.suffix(6)) v\(version) differs from the server's (holds v\(actual[id]?.0 ?? -1))")
            }
            for id in actual.keys where expected[id] == nil {
                findings.append("\(name): holds record \(id.suffix(6)) that is not in its scope on the server")
            }
            // 2. The checksum matches.
            if try device.client.localChecksum() != truth.checksum {
                findings.append("\(name): checksum \(try device.client.localChecksum()) differs from the server's \(truth.checksum.map(\.description) ?? "none")")
            }
            // 3. No record outside the scope.
            var caseRecords: [String: CaseRecord] = [:]
            for record in held where record.type == .case {
                caseRecords[record.id] = try decoder.decode(CaseRecord.self, from: record.data)
            }
            // 3b. Every device that holds a case computes the same deadlines from it, within the law's caps.
            var eventsByCase: [String: [TimelineEvent]] = [:]
            for record in held where record.type == .event {
                let event = try decoder.decode(TimelineEvent.self, from: record.data)
                eventsByCase[event.caseId, default: []].append(event)
            }
            for (id, record) in caseRecords {
                let deadlines = CaseDeadlines(record: record, events: eventsByCase[id] ?? [], today: CalendarDate("2026-06-01")!)
                if let seen = deadlinesSeen[id], seen.deadlines != deadlines {
                    findings.append("\(name): computes other deadlines for case \(id.suffix(6)) than \(seen.device)")
                }
                deadlinesSeen[id] = (name, deadlines)
                if deadlines.changes.weeksWithoutConsent > StatutoryDeadlines.maxPostponementWeeksWithoutConsent {
                    findings.append("\(name): case \(id.suffix(6)) is postponed \(deadlines.changes.weeksWithoutConsent) weeks without consent")
                }
                if deadlines.changes.pauses.dropLast().contains(where: { $0.resumed == nil }) {
                    findings.append("\(name): case \(id.suffix(6)) has a pause that never ended before another began")
                }
            }
            for record in held {
                guard let owner = caseRecords[record.caseId] else {
                    findings.append("\(name): holds a \(record.type.rawValue) of a case it does not hold")
                    continue
                }
                let inScope = device.role == .citizen
                    ? owner.citizenId == device.accountId
                    : owner.authorityId == device.authority && owner.status != .draft
                if !inScope { findings.append("\(name): holds case \(owner.id.suffix(6)) outside its scope") }
                if record.type == .conflict {
                    let conflict = try decoder.decode(ConflictRecord.self, from: record.data)
                    recordedConflicts[conflict.id] = conflict
                    if !(clientsOfSide[device.role]?.contains(conflict.clientId) ?? false) {
                        findings.append("\(name): holds a conflict raised by the other side")
                    }
                }
            }
            // 4. Every mutation: exactly once, outcome stable, rejections in the dead letters.
            let letters = Dictionary(uniqueKeysWithValues: try device.client.deadLetters().map { ($0.mutation.mutationId, $0) })
            var rejected: Set<Int64> = []
            for (id, mutation) in device.queued.sorted(by: { $0.key < $1.key }) {
                let outcome: MutationOutcome
                do {
                    let again = try await transport.push(PushRequest(clientId: device.clientId, mutations: [mutation]), token: device.token)
                    guard let first = again.outcomes.first else { throw SimulationFailure("no outcome") }
                    outcome = first
                } catch {
                    findings.append("\(name): mutation \(id) is not on the server as sent: \(error)")
                    continue
                }
                if outcome.status == .rejected {
                    rejected.insert(id)
                    if outcome.code == .caseExists || outcome.code == .messageExists {
                        findings.append("\(name): mutation \(id) was applied twice (\(outcome.code!.rawValue))")
                    }
                    guard let letter = letters[id] else {
                        findings.append("\(name): rejected mutation \(id) (\(outcome.code?.rawValue ?? "?")) is not in the dead letters")
                        continue
                    }
                    let sameReason = letter.code == outcome.code && letter.message == outcome.message
                    let dependent = outcome.code == .caseNotFound && letter.code == .dependsOnRejected
                    if !sameReason && !dependent {
                        findings.append("\(name): dead letter \(id) says \(letter.code) but the server said \(outcome.code?.rawValue ?? "?")")
                    }
                }
                let caseExists = truth.changes.contains { $0.type == .case && $0.id == mutation.caseId }
                for conflict in outcome.conflicts ?? [] {
                    // A deleted draft takes its conflict records with it.
                    guard caseExists else { continue }
                    let key = "\(device.clientId)/\(id)/\(conflict.field)"
                    raisedConflicts.insert(key)
                    // (A repeated mutation's outcome names the conflict without its values: they are checked on its record.)
                    if case .edit(let changes) = mutation.operation, let change = changes.first(where: { $0.field == conflict.field }) {
                        concurrentEdits[key] = (name, change)
                    }
                }
            }
            for id in letters.keys where !rejected.contains(id) {
                findings.append("\(name): dead letter \(id) was not rejected by the server")
            }
        }
        // 5. A conflict record exists exactly where a merge reported one.
        let recorded = Set(recordedConflicts.values.map { "\($0.clientId)/\($0.mutationId)/\($0.conflict.field)" })
        for missing in raisedConflicts.subtracting(recorded) { findings.append("no conflict record for merge \(missing)") }
        for conflict in recordedConflicts.values {
            let key = "\(conflict.clientId)/\(conflict.mutationId)/\(conflict.conflict.field)"
            guard let (name, change) = concurrentEdits[key] else { continue }
            if conflict.conflict.clientValue != change.to || conflict.conflict.serverValue == change.from {
                findings.append("\(name): mutation \(conflict.mutationId) reports a conflict on \(conflict.conflict.field) that was not concurrent")
            }
        }
        for extra in recorded.subtracting(raisedConflicts) { findings.append("conflict record \(extra) without a merge that raised it") }
        // 6. Timelines: a status change is never applied twice in a row.
        for device in devices {
            let events = try device.client.serverCopy().filter { $0.type == .event }
                .map { try decoder.decode(TimelineEvent.self, from: $0.data) }
            for (_, timeline) in Dictionary(grouping: events, by: \.caseId) {
                // Rescheduling a hearing legitimately repeats hearing_scheduled; any other status twice in a
                // row means a move was applied twice.
                let moves = timeline.compactMap(\.status)
                for (a, b) in zip(moves, moves.dropFirst()) where a == b && a != .hearingScheduled {
                    findings.append("\(device.name): the move to \(a.rawValue) is twice in a row in a timeline")
                }
            }
        }
        // The storage limit's running byte counts agree with what the records hold.
        if let store = server.store, let mismatches = try? await store.storageCountMismatches(), !mismatches.isEmpty {
            findings.append("\(mismatches.count) citizen(s) whose stored-bytes count differs from their records")
        }
        // 7. Everything the rogue device sent was refused, then and now.
        for mutation in rogue.sent {
            let again = try? await transport.push(
                PushRequest(clientId: rogue.credentials.clientId, mutations: [mutation]), token: rogue.credentials.token)
            if again?.outcomes.first?.status != .rejected {
                findings.append("the rogue's \(mutation.operation.name) \(mutation.mutationId) was not refused")
            }
        }
    }
}
