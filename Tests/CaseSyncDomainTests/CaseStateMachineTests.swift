import CaseSyncDomain
import CaseSyncProtocol
import Testing

@Suite("Case state machine")
struct CaseStateMachineTests {
    /// The whole procedure: (from, to, role) → allowed. Everything not listed is refused.
    static let allowed: Set<String> = [
        "draft>submitted:citizen",
        "submitted>received:officer", "received>in_review:officer",
        "in_review>hearing_scheduled:officer", "in_review>decided:officer",
        "hearing_scheduled>in_review:officer", "hearing_scheduled>decided:officer",
        "decided>closed:officer",
        "submitted>withdrawn:citizen", "received>withdrawn:citizen", "in_review>withdrawn:citizen",
        "hearing_scheduled>withdrawn:citizen",
    ]

    static let everyMove: [(CaseStatus, CaseStatus, ActorRole)] = CaseStatus.allCases.flatMap { from in
        CaseStatus.allCases.flatMap { to in ActorRole.allCases.map { (from, to, $0) } }
    }.filter { $0.0 != $0.1 }

    @Test(arguments: everyMove)
    func transition(from: CaseStatus, to: CaseStatus, role: ActorRole) {
        let fields = ["hearingAt": "2026-05-12T09:30:00.000Z", "decisionOutcome": "rejected"]
        let violation = CaseStateMachine.violation(from: from, to: to, role: role, fields: fields)
        let key = "\(from.rawValue)>\(to.rawValue):\(role.rawValue)"
        #expect((violation == nil) == Self.allowed.contains(key), "\(key): \(violation?.description ?? "allowed")")
        if let violation {
            #expect([ErrorCode.invalidTransition, .forbiddenForRole].contains(violation.code))
        }
    }

    @Test func decidingNeedsAnOutcomeAndAHearingNeedsATime() {
        #expect(CaseStateMachine.violation(from: .inReview, to: .decided, role: .officer, fields: [:])?.code == .invalidValue)
        #expect(CaseStateMachine.violation(from: .inReview, to: .hearingScheduled, role: .officer, fields: [:])?.code == .invalidValue)
    }

    @Test func aCitizenIsToldThatOnlyAnOfficerMayMoveTheCase() {
        let violation = CaseStateMachine.violation(from: .submitted, to: .received, role: .citizen, fields: [:])
        #expect(violation?.code == .forbiddenForRole)
    }

    @Test func movingToTheStatusACaseHasIsHarmless() {
        #expect(CaseStateMachine.violation(from: .received, to: .received, role: .officer, fields: [:]) == nil)
    }
}
