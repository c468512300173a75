import CaseSyncDomain
import CaseSyncProtocol
import Testing

@Suite("Case rules: applying mutations")
struct CaseRulesTests {
    static let citizen = MutationActor(accountId: "anna", role: .citizen, authorityId: nil, displayName: "A", clientId: "c1")
    static let otherCitizen = MutationActor(accountId: "bert", role: .citizen, authorityId: nil, displayName: "B", clientId: "c2")
    static let officer = MutationActor(accountId: "olga", role: .officer, authorityId: "gm0344", displayName: "O", clientId: "o1")
    static let foreignOfficer = MutationActor(accountId: "otto", role: .officer, authorityId: "gm0193", displayName: "Z", clientId: "o2")
    static let now = Timestamp(millisecondsSince1970: 1_772_443_800_000)
    static let fields = ["title": "Fine", "grounds": "Permit was valid", "decisionReference": "PT-1", "decisionDate": "2026-03-02"]

    static func context(conflict: ConflictRecord? = nil, raisedBy: ActorRole? = nil) -> ApplyContext {
        var counter = 0
        return ApplyContext(now: now, maxTextLength: 1_000, conflict: conflict, conflictRaisedBy: raisedBy) {
            counter += 1
            return "id-\(counter)"
        }
    }

    static func mutation(_ op: MutationOperation, id: Int64 = 1, clock: Int64 = 1) -> Mutation {
        Mutation(mutationId: id, caseId: "case-1", baseVersion: nil, hlc: HLCTimestamp(millis: clock, counter: 0, node: "c1"), operation: op)
    }

    static func existing(status: CaseStatus, fields: [String: String] = fields) -> VersionedCase {
        VersionedCase(
            record: CaseRecord(
                id: "case-1", kind: .objection, authorityId: "gm0344", citizenId: "anna", status: status, fields: fields,
                clocks: [:], createdAt: now, updatedAt: now),
            version: 3)
    }

    @Test func aCitizenFilesADraftWithACreatedEvent() {
        let effect = CaseRules.apply(
            Self.mutation(.create(NewCase(kind: .objection, authorityId: "gm0344", fields: Self.fields))), by: Self.citizen,
            to: nil, context: Self.context())
        #expect(effect.outcome.status == .applied)
        #expect(effect.updatedCase?.record.status == .draft)
        #expect(effect.updatedCase?.record.citizenId == "anna")
        #expect(effect.updatedCase?.version == 1)
        #expect(effect.events.map(\.type) == [.created])
    }

    @Test(arguments: [
        (["title": "T"], ErrorCode.invalidValue),
        (Self.fields.merging(["decisionDate": "2 March"]) { $1 }, .invalidValue),
        (Self.fields.merging(["colour": "red"]) { $1 }, .unknownField),
        (Self.fields.merging(["decisionOutcome": "upheld"]) { $1 }, .officerOwnedField),
    ])
    func aNewCaseIsValidated(fields: [String: String], code: ErrorCode) {
        let effect = CaseRules.apply(
            Self.mutation(.create(NewCase(kind: .objection, authorityId: "gm0344", fields: fields))), by: Self.citizen,
            to: nil, context: Self.context())
        #expect(effect.outcome.code == code)
        #expect(effect.updatedCase == nil)
    }

    @Test func officersDoNotFileCasesAndIdsAreNotReused() {
        let create = Self.mutation(.create(NewCase(kind: .objection, authorityId: "gm0344", fields: Self.fields)))
        #expect(CaseRules.apply(create, by: Self.officer, to: nil, context: Self.context()).outcome.code == .forbiddenForRole)
        #expect(
            CaseRules.apply(create, by: Self.citizen, to: Self.existing(status: .draft), context: Self.context()).outcome.code
                == .caseExists)
    }

    @Test func nobodyOutsideTheScopeLearnsTheCaseExists() {
        let edit = Self.mutation(.edit([FieldChange(field: "contactEmail", from: nil, to: "x@y.nl")]))
        for actor in [Self.otherCitizen, Self.foreignOfficer] {
            let effect = CaseRules.apply(edit, by: actor, to: Self.existing(status: .submitted), context: Self.context())
            #expect(effect.outcome.code == .caseNotFound)
            #expect(effect.outcome.message == CaseRules.apply(edit, by: actor, to: nil, context: Self.context()).outcome.message)
        }
        let draftEdit = CaseRules.apply(edit, by: Self.officer, to: Self.existing(status: .draft), context: Self.context())
        #expect(draftEdit.outcome.code == .caseNotFound, "officers do not see drafts")
    }

    @Test func citizenEditsOfOfficerFieldsAndLockedGroundsAreRejected() {
        let decision = Self.mutation(.edit([FieldChange(field: "decisionOutcome", from: nil, to: "upheld")]))
        #expect(
            CaseRules.apply(decision, by: Self.citizen, to: Self.existing(status: .inReview), context: Self.context()).outcome.code
                == .officerOwnedField)
        let grounds = Self.mutation(.edit([FieldChange(field: "grounds", from: "Permit was valid", to: "More")]))
        let effect = CaseRules.apply(grounds, by: Self.citizen, to: Self.existing(status: .decided), context: Self.context())
        #expect(effect.outcome.code == .fieldLocked)
        #expect(effect.outcome.message == "the case is decided; the grounds can no longer change")
        #expect(
            CaseRules.apply(grounds, by: Self.officer, to: Self.existing(status: .inReview), context: Self.context()).outcome.code
                == .citizenOwnedField)
    }

    @Test func aConcurrentGroundsEditKeepsTheServerCopyAndRaisesAConflict() {
        let edit = Self.mutation(.edit([FieldChange(field: "grounds", from: "old text", to: "client text")]))
        let effect = CaseRules.apply(edit, by: Self.citizen, to: Self.existing(status: .submitted), context: Self.context())
        #expect(effect.outcome.status == .merged)
        #expect(effect.outcome.conflicts?.map(\.field) == ["grounds"])
        #expect(effect.updatedCase == nil, "nothing changed on the server")
        #expect(effect.conflicts.count == 1)
        #expect(effect.conflicts.first?.conflict.clientValue == "client text")
        #expect(effect.conflicts.first?.conflict.serverValue == "Permit was valid")
    }

    @Test func transitionsWriteEventsAndOfficerFields() {
        let decide = Self.mutation(.transition(StatusTransition(to: .decided, fields: ["decisionOutcome": "upheld"])))
        let effect = CaseRules.apply(decide, by: Self.officer, to: Self.existing(status: .inReview), context: Self.context())
        #expect(effect.outcome.status == .applied)
        #expect(effect.updatedCase?.record.status == .decided)
        #expect(effect.updatedCase?.record.fields["decisionOutcome"] == "upheld")
        #expect(effect.updatedCase?.version == 4)
        #expect(effect.events.map(\.type) == [.decided])
    }

    @Test func resolvingAConflictPutsTheChosenValueBackAndMarksItResolved() {
        let conflict = ConflictRecord(
            id: "k1", caseId: "case-1",
            conflict: FieldConflict(field: "grounds", policy: .citizenProse, winner: .server, clientValue: "mine", serverValue: "Permit was valid"),
            clientId: "c1", mutationId: 1, createdAt: Self.now)
        let resolve = Self.mutation(.resolveConflict(conflictId: "k1", keep: .mine))
        let effect = CaseRules.apply(
            resolve, by: Self.citizen, to: Self.existing(status: .submitted), context: Self.context(conflict: conflict, raisedBy: .citizen))
        #expect(effect.updatedCase?.record.fields["grounds"] == "mine")
        #expect(effect.resolvedConflict?.resolution == .mine)
        let byOfficer = CaseRules.apply(
            resolve, by: Self.officer, to: Self.existing(status: .submitted), context: Self.context(conflict: conflict, raisedBy: .citizen))
        #expect(byOfficer.outcome.code == .conflictNotFound, "a conflict belongs to the side that raised it")
    }

    @Test func onlyDraftsCanBeDeletedAndOnlyByTheirCitizen() {
        let effect = CaseRules.apply(Self.mutation(.delete), by: Self.citizen, to: Self.existing(status: .draft), context: Self.context())
        #expect(effect.updatedCase?.deleted == true)
        #expect(
            CaseRules.apply(Self.mutation(.delete), by: Self.citizen, to: Self.existing(status: .submitted), context: Self.context())
                .outcome.code == .invalidTransition)
    }

    @Test func messagesNeedTextAndASubmittedCase() {
        let message = Self.mutation(.addMessage(id: "m1", body: "Hello"))
        #expect(CaseRules.apply(message, by: Self.officer, to: Self.existing(status: .received), context: Self.context()).messages.count == 1)
        #expect(
            CaseRules.apply(message, by: Self.citizen, to: Self.existing(status: .draft), context: Self.context()).outcome.status
                == .rejected)
        let empty = Self.mutation(.addMessage(id: "m2", body: "  "))
        #expect(CaseRules.apply(empty, by: Self.citizen, to: Self.existing(status: .received), context: Self.context()).outcome.code == .invalidValue)
    }
}

@Suite("Concurrent moves")
struct ConcurrentMoveTests {
    @Test func aSecondDecisionMergesInsteadOfRepeatingTheMove() {
        var decided = CaseRulesTests.existing(status: .decided, fields: CaseRulesTests.fields.merging(["decisionOutcome": "upheld"]) { $1 })
        decided.record.clocks["decisionOutcome"] = HLCTimestamp(millis: 5, counter: 0, node: "o1")
        let later = Mutation(
            mutationId: 1, caseId: "case-1", baseVersion: 2, hlc: HLCTimestamp(millis: 9, counter: 0, node: "o2"),
            operation: .transition(StatusTransition(to: .decided, fields: ["decisionOutcome": "rejected"])))
        let effect = CaseRules.apply(later, by: CaseRulesTests.officer, to: decided, context: CaseRulesTests.context())
        #expect(effect.outcome.status == .merged)
        #expect(effect.events.isEmpty, "the timeline does not get a second decision")
        #expect(effect.updatedCase?.record.fields["decisionOutcome"] == "rejected", "officer-owned: the later clock wins")
        #expect(effect.conflicts.first?.conflict.serverValue == "upheld")
        let same = Mutation(
            mutationId: 2, caseId: "case-1", baseVersion: 2, hlc: HLCTimestamp(millis: 9, counter: 0, node: "o2"),
            operation: .transition(StatusTransition(to: .decided, fields: ["decisionOutcome": "upheld"])))
        let repeatEffect = CaseRules.apply(same, by: CaseRulesTests.officer, to: decided, context: CaseRulesTests.context())
        #expect(repeatEffect.outcome.status == .applied && repeatEffect.updatedCase == nil && repeatEffect.events.isEmpty)
    }
}

extension CaseRulesTests {
    // MARK: Deadline changes (Awb 7:10)

    static func deadline(_ change: DeadlineChange, on current: VersionedCase = existing(status: .inReview),
                         by actor: MutationActor = officer, so changes: DecisionPeriodChanges = DecisionPeriodChanges()) -> MutationEffect {
        var context = Self.context()
        context.deadlineChanges = changes
        return CaseRules.apply(Self.mutation(.deadline(change)), by: actor, to: current, context: context)
    }

    @Test func anOfficerPostponesUpToSixWeeksWithoutConsent() {
        let effect = Self.deadline(DeadlineChange(action: .postpone, weeks: 6, note: "second hearing"))
        #expect(effect.outcome.status == .applied)
        #expect(effect.outcome.version == 3)
        #expect(effect.updatedCase == nil)
        #expect(effect.events.map(\.type) == [.postponed])
        #expect(effect.events.first?.weeks == 6)
        #expect(effect.events.first?.consent == false)
        let further = Self.deadline(
            DeadlineChange(action: .postpone, weeks: 1),
            so: DecisionPeriodChanges(postponements: [.init(weeks: 6, consent: false)]))
        #expect(further.outcome.code == .invalidValue)
        #expect(further.outcome.message?.contains("Awb 7:10 lid 3") == true)
        let withConsent = Self.deadline(
            DeadlineChange(action: .postpone, weeks: 8, consent: true),
            so: DecisionPeriodChanges(postponements: [.init(weeks: 6, consent: false)]))
        #expect(withConsent.outcome.status == .applied)
    }

    @Test func onlyTheAuthorityMovesTheDeadlineWhileTheObjectionIsPending() {
        #expect(Self.deadline(DeadlineChange(action: .postpone, weeks: 2), by: Self.citizen).outcome.code == .forbiddenForRole)
        #expect(Self.deadline(DeadlineChange(action: .postpone, weeks: 2), by: Self.foreignOfficer).outcome.code == .caseNotFound)
        #expect(Self.deadline(DeadlineChange(action: .postpone, weeks: 2), on: Self.existing(status: .decided)).outcome.code == .invalidTransition)
        #expect(Self.deadline(DeadlineChange(action: .postpone, weeks: 0)).outcome.code == .invalidValue)
        #expect(Self.deadline(DeadlineChange(action: .postpone)).outcome.code == .invalidValue)
    }

    @Test func pausesAndResumesAlternate() {
        let pause = Self.deadline(DeadlineChange(action: .pause, effectiveDate: CalendarDate("2026-03-01")))
        #expect(pause.events.first?.type == .paused)
        #expect(pause.events.first?.effectiveDate == CalendarDate("2026-03-01"))
        let paused = DecisionPeriodChanges(pauses: [.init(requested: CalendarDate("2026-03-01")!, resumed: nil)])
        #expect(Self.deadline(DeadlineChange(action: .pause), so: paused).outcome.code == .invalidTransition)
        #expect(Self.deadline(DeadlineChange(action: .resume)).outcome.code == .invalidTransition)
        #expect(Self.deadline(DeadlineChange(action: .resume, effectiveDate: CalendarDate("2026-02-27")), so: paused).outcome.code == .invalidValue)
        let resume = Self.deadline(DeadlineChange(action: .resume), so: paused)
        // Without a date the server's day counts (now is 2 March 2026 in the Netherlands).
        #expect(resume.events.first?.effectiveDate == CalendarDate("2026-03-02"))
        #expect(Self.deadline(DeadlineChange(action: .pause, effectiveDate: CalendarDate("2026-03-03"))).outcome.code == .invalidValue)
    }
}
