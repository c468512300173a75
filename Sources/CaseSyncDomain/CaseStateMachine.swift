import CaseSyncProtocol

/// The objection procedure as a state machine:
/// draft → submitted → received → in review → (hearing scheduled) → decided → closed,
/// and withdrawn by the citizen at any point after submission and before a decision.
public enum CaseStateMachine {
    /// The statuses a role may move a case to from `status`.
    public static func targets(from status: CaseStatus, role: ActorRole) -> [CaseStatus] {
        switch (status, role) {
        case (.draft, .citizen): [.submitted]
        case (.submitted, .citizen), (.received, .citizen), (.inReview, .citizen), (.hearingScheduled, .citizen): [.withdrawn]
        case (.submitted, .officer): [.received]
        case (.received, .officer): [.inReview]
        case (.inReview, .officer): [.hearingScheduled, .decided]
        case (.hearingScheduled, .officer): [.inReview, .decided]
        case (.decided, .officer): [.closed]
        default: []
        }
    }

    /// Fields a transition must carry.
    public static func requiredFields(for target: CaseStatus) -> [CaseField] {
        switch target {
        case .hearingScheduled: [.hearingAt]
        case .decided: [.decisionOutcome]
        default: []
        }
    }

    /// Checks a transition; nil when it is allowed.
    public static func violation(
        from status: CaseStatus, to target: CaseStatus, role: ActorRole, fields: [String: String]
    ) -> RuleViolation? {
        if status == target, target != .hearingScheduled {
            return nil // Already there: a repeat of a concurrent identical move is harmless.
        }
        if status == target, target == .hearingScheduled {
            return fields[CaseField.hearingAt.rawValue] == nil
                ? RuleViolation(.invalidValue, "rescheduling a hearing needs hearingAt") : nil
        }
        let allowed = targets(from: status, role: role)
        guard allowed.contains(target) else {
            let otherRole: ActorRole = role == .citizen ? .officer : .citizen
            if targets(from: status, role: otherRole).contains(target) {
                return RuleViolation(
                    .forbiddenForRole, "only \(otherRole == .officer ? "an officer" : "the citizen") can move a case from \(status.rawValue) to \(target.rawValue)")
            }
            let next = allowed.map(\.rawValue).joined(separator: ", ")
            return RuleViolation(
                .invalidTransition,
                "a case cannot move from \(status.rawValue) to \(target.rawValue)"
                    + (next.isEmpty ? "" : "; from \(status.rawValue) you can move it to \(next)"))
        }
        for field in requiredFields(for: target) where fields[field.rawValue] == nil {
            return RuleViolation(.invalidValue, "moving a case to \(target.rawValue) needs \(field.rawValue)")
        }
        return nil
    }
}
