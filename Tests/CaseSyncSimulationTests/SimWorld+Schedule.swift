import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerSQLite
import Foundation

extension SimWorld {
    /// Runs `steps` scheduler steps with faults on, then heals the network and syncs everyone.
    func run(steps: Int) async throws {
        for device in devices { device.transport.set(rates: FaultRates()) }
        for step in 0..<steps {
            stats.steps = step
            if server.isDown, source.chance(0.4) {
                try server.restart()
                stats.serverRestarts += 1
                log("server back up")
            }
            let roll = source.int(0..<100)
            let device = source.pick(devices)!
            switch roll {
            case 0..<52: try localAction(device)
            case 52..<78: await sync(device)
            case 78..<83:
                let online = !device.transport.isOnline
                device.transport.set(online: online)
                log("\(device.name) goes \(online ? "online" : "offline")")
            case 83..<86:
                try device.restart(source: source)
                stats.clientRestarts += 1
                log("\(device.name) restarts")
            case 86..<88:
                if !server.isDown {
                    try server.restart()
                    stats.serverRestarts += 1
                    log("server restarts")
                }
            case 88..<91:
                let after = 1 + source.int(0..<3)
                server.armCrash(afterMutations: after)
                log("server will crash after \(after) mutation(s) of the next push")
            case 91..<93: await roguePush()
            case 93: await craftedPush()
            case 94..<97: try resolveConflict(device)
            case 97:
                if let store = server.store, !server.isDown {
                    let report = try await store.compact(retentionDays: 0)
                    log("server compacts: \(report.tombstonesRemoved) tombstone(s) dropped")
                }
            default:
                let pause = Int64(source.int(1..<86_400)) * 1_000
                source.advance(milliseconds: pause)
                log("\(pause / 1000) s pass")
            }
        }
        try await heal()
    }

    private func attempt(_ device: SimDevice, _ what: String, _ body: () throws -> Void) throws {
        do {
            try body()
            log("\(device.name): \(what)")
        } catch let error as ClientError where error.code == .refused || error.code == .notFound || error.code == .invalidInput {
            device.refusedLocally += 1
            log("\(device.name): \(what) refused locally (\(error.ruleCode?.rawValue ?? error.code.rawValue))")
        }
        try device.recordQueued()
    }

    /// One thing a person does on a device, offline or not.
    func localAction(_ device: SimDevice) throws {
        let cases = try device.client.cases()
        let target = source.pick(cases)
        let tag = "\(device.name) at step \(stats.steps)"
        if device.role == .citizen {
            switch target == nil ? 0 : source.int(0..<12) {
            case 0, 1:
                let authority = source.chance(0.7) ? "gm0344" : "gm0193"
                let submit = source.chance(0.7)
                try attempt(device, "files a case for \(authority)\(submit ? "" : " as a draft")") {
                    try device.client.createObjection(
                        authorityId: authority,
                        fields: [.title: "Fine \(stats.steps)", .grounds: "Grounds by \(tag)", .decisionReference: "PT-\(stats.steps)",
                                 .decisionDate: "2026-03-02"],
                        submit: submit)
                }
            case 3:
                guard let target else { return }
                try attempt(device, "submits \(target.id.suffix(4))") { try device.client.move(caseId: target.id, to: .submitted) }
            case 4:
                guard let target, source.chance(0.3) else { return }
                try attempt(device, "withdraws \(target.id.suffix(4))") { try device.client.move(caseId: target.id, to: .withdrawn) }
            case 5:
                guard let target else { return }
                try attempt(device, "deletes draft \(target.id.suffix(4))") { try device.client.deleteDraft(caseId: target.id) }
            case 6, 7, 8:
                guard let target else { return }
                try attempt(device, "edits the grounds of \(target.id.suffix(4))") {
                    try device.client.edit(caseId: target.id, set: [.grounds: "Grounds by \(tag)"])
                }
            case 9:
                guard let target else { return }
                try attempt(device, "edits the e-mail of \(target.id.suffix(4))") {
                    try device.client.edit(caseId: target.id, set: [.contactEmail: "c\(stats.steps)@example.org"])
                }
            case 10:
                guard let target else { return }
                try attempt(device, "edits the title of \(target.id.suffix(4))") {
                    try device.client.edit(caseId: target.id, set: [.title: "Title by \(tag)"])
                }
            default:
                guard let target else { return }
                try attempt(device, "writes on \(target.id.suffix(4))") { _ = try device.client.sendMessage(caseId: target.id, body: "Message by \(tag)") }
            }
        } else {
            guard let target else { return }
            switch source.int(0..<7) {
            case 0, 1, 2:
                let targets = CaseStateMachine.targets(from: target.record.status, role: .officer)
                guard let status = source.pick(targets) else { return }
                var fields: [CaseField: String] = [:]
                if status == .hearingScheduled { fields[.hearingAt] = "2026-05-12T09:30:00.000Z" }
                if status == .decided { fields[.decisionOutcome] = source.pick(CaseField.decisionOutcomes)! }
                try attempt(device, "moves \(target.id.suffix(4)) to \(status.rawValue)") {
                    try device.client.move(caseId: target.id, to: status, fields: fields)
                }
            case 3:
                try attempt(device, "edits the e-mail of \(target.id.suffix(4))") {
                    try device.client.edit(caseId: target.id, set: [.contactEmail: "o\(stats.steps)@example.org"])
                }
            case 4:
                try attempt(device, "edits the decision summary of \(target.id.suffix(4))") {
                    try device.client.edit(caseId: target.id, set: [.decisionSummary: "Summary by \(tag)"])
                }
            case 5:
                // Officers of the same authority postpone and pause concurrently, offline: the server's
                // caps must hold whatever order the pushes arrive in.
                let change = source.pick([
                    DeadlineChange(action: .postpone, weeks: source.int(1..<5)),
                    DeadlineChange(action: .postpone, weeks: source.int(1..<5), consent: true),
                    DeadlineChange(action: .pause), DeadlineChange(action: .resume),
                ])!
                try attempt(device, "\(change.action.rawValue)s the deadline of \(target.id.suffix(4))") {
                    try device.client.changeDeadline(caseId: target.id, change)
                }
            default:
                try attempt(device, "writes on \(target.id.suffix(4))") { _ = try device.client.sendMessage(caseId: target.id, body: "Message by \(tag)") }
            }
        }
    }

    func resolveConflict(_ device: SimDevice) throws {
        guard let conflict = source.pick(try device.client.openConflicts()) else { return }
        let keep: ConflictResolutionChoice = source.chance(0.5) ? .mine : .theirs
        try attempt(device, "resolves conflict \(conflict.id.suffix(4)) keeping \(keep.rawValue)") {
            try device.client.resolve(conflictId: conflict.id, keep: keep)
        }
    }

    func sync(_ device: SimDevice) async {
        stats.syncs += 1
        do {
            let report = try await device.client.sync(transport: device.transport)
            log("\(device.name) syncs: pushed \(report.pushed), pulled \(report.pulled)\(report.repaired ? ", repaired" : "")")
        } catch let error as ClientError where error.code == .unreachable || error.ruleCode == .internalError {
            stats.failedSyncs += 1
            log("\(device.name) sync fails: \(error.message)")
        } catch {
            findings.append("\(device.name): sync failed in a way faults must not cause: \(error)")
        }
        if device.transport.takeCrash() {
            do {
                try device.restart(source: source)
                stats.clientRestarts += 1
                log("\(device.name) died mid-sync and restarts")
            } catch {
                findings.append("\(device.name) could not reopen its store: \(error)")
            }
        }
    }

    /// Bert's second device sends changes the rules must refuse, without the library's local checks.
    func roguePush() async {
        guard let transport = server.transport else { return }
        let bertCases = devices.first { $0.name == "bert" }.flatMap { try? $0.client.cases().map(\.id) } ?? []
        let annaCases = devices.first { $0.name == "anna-phone" }.flatMap { try? $0.client.cases().map(\.id) } ?? []
        let hlc = HLCTimestamp(millis: source.now().millisecondsSince1970, counter: 0, node: rogue.credentials.clientId)
        let operation: MutationOperation
        let caseId: String
        switch source.int(0..<3) {
        case 0:
            caseId = source.pick(bertCases) ?? source.makeId()
            operation = .edit([FieldChange(field: "decisionOutcome", from: nil, to: "upheld")])
        case 1:
            caseId = source.pick(annaCases) ?? source.makeId()
            operation = .edit([FieldChange(field: "grounds", from: nil, to: "Vandalised by Bert")])
        default:
            caseId = source.pick(bertCases) ?? source.makeId()
            operation = .transition(StatusTransition(to: .decided, fields: ["decisionOutcome": "upheld"]))
        }
        let mutation = Mutation(mutationId: rogue.nextMutationId, caseId: caseId, baseVersion: 1, hlc: hlc, operation: operation)
        do {
            let response = try await transport.push(PushRequest(clientId: rogue.credentials.clientId, mutations: [mutation]), token: rogue.credentials.token)
            rogue.nextMutationId += 1
            rogue.sent.append(mutation)
            log("rogue sends \(operation.name) on \(caseId.suffix(4)): \(response.outcomes.first?.code?.rawValue ?? "accepted!")")
        } catch {
            log("rogue push fails: \(error)")
        }
    }

    /// Everyone comes online, faults stop, and devices sync until nothing moves.
    func heal() async throws {
        stats.steps += 1
        log("healing: faults off, everyone online")
        server.disarm()
        if server.isDown { try server.restart() }
        for device in devices {
            device.transport.set(rates: .none)
            device.transport.set(online: true)
        }
        for round in 0..<12 {
            var moved = false
            for device in devices {
                do {
                    let report = try await device.client.sync(transport: device.transport)
                    moved = moved || report.pushed > 0 || report.pulled > 0
                } catch {
                    findings.append("\(device.name): sync failed after healing: \(error)")
                    return
                }
            }
            if !moved {
                log("quiet after \(round + 1) round(s)")
                return
            }
        }
        findings.append("devices were still exchanging changes after 12 rounds of syncing")
    }
}
