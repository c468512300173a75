import CaseSyncProtocol

/// The fields of a case, each with its merge policy, who may write it, when it is locked,
/// and what values it takes.
public enum CaseField: String, CaseIterable, Sendable, Hashable {
    case title
    case grounds
    case decisionReference
    case decisionDate
    case contactEmail
    case contactPhone
    case hearingAt
    case decisionOutcome
    case decisionSummary
    /// What the contested decision is: `decision` (Awb, the default) or `municipal_tax` (a municipal tax
    /// assessment such as a parking-tax fine); it decides which statutory periods apply.
    case decisionType
    /// `yes` when an advisory committee hears the objection (Awb 7:13): twelve weeks to decide, not six.
    case advisoryCommittee

    /// How a concurrent change of this field on both sides is resolved.
    public var policy: FieldPolicy {
        switch self {
        case .title, .grounds, .decisionReference, .decisionDate, .decisionType: .citizenProse
        case .contactEmail, .contactPhone: .sharedLastWriterWins
        case .hearingAt, .decisionOutcome, .decisionSummary, .advisoryCommittee: .officerOwned
        }
    }

    /// Whether concurrent writes of the field are ordered by clock, so the field keeps the clock
    /// reading of its last write. Citizen prose never needs one: the server's copy always stays.
    public var isClocked: Bool { policy != .citizenProse }

    /// Who may write the field.
    public func isWritable(by role: ActorRole) -> Bool {
        switch policy {
        case .citizenProse: role == .citizen
        case .sharedLastWriterWins: true
        case .officerOwned: role == .officer
        }
    }

    /// The violation a role gets for writing a field it does not own, if any.
    public func ownershipViolation(for role: ActorRole) -> RuleViolation? {
        guard !isWritable(by: role) else { return nil }
        switch policy {
        case .officerOwned:
            return RuleViolation(.officerOwnedField, "\(rawValue) is set by the authority; a citizen cannot change it")
        default:
            return RuleViolation(.citizenOwnedField, "\(rawValue) is the citizen's own text; an officer cannot change it")
        }
    }

    /// Fields a case must have a value for.
    public var isRequired: Bool {
        switch self {
        case .title, .grounds, .decisionReference, .decisionDate: true
        default: false
        }
    }

    /// Why the field cannot change while the case has this status, or nil when it can.
    public func lockViolation(in status: CaseStatus) -> RuleViolation? {
        switch self {
        case .title, .grounds:
            switch status {
            case .decided, .closed: return RuleViolation(.fieldLocked, "the case is decided; the \(rawValue) can no longer change")
            case .withdrawn: return RuleViolation(.fieldLocked, "the case is withdrawn; the \(rawValue) can no longer change")
            default: return nil
            }
        case .decisionReference, .decisionDate, .decisionType:
            switch status {
            case .draft, .submitted: return nil
            default:
                return RuleViolation(
                    .fieldLocked, "the contested decision (\(rawValue)) can only change until the authority has received the case")
            }
        case .contactEmail, .contactPhone, .hearingAt, .decisionOutcome, .decisionSummary, .advisoryCommittee:
            switch status {
            case .closed, .withdrawn: return RuleViolation(.fieldLocked, "the case is \(status.rawValue); \(rawValue) can no longer change")
            default: return nil
            }
        }
    }

    /// The outcomes a decision on an objection can have (gegrond, deels gegrond, ongegrond, niet-ontvankelijk).
    public static let decisionOutcomes = ["upheld", "partially_upheld", "rejected", "inadmissible"]

    /// Checks a value for this field; nil clears the field.
    public func validate(_ value: String?, maxTextLength: Int) -> RuleViolation? {
        guard let value else {
            return isRequired ? RuleViolation(.invalidValue, "\(rawValue) cannot be empty") : nil
        }
        if value.isBlank { return RuleViolation(.invalidValue, "\(rawValue) cannot be empty; leave it out instead") }
        switch self {
        case .title, .decisionReference:
            if value.isLonger(than: 200) { return RuleViolation(.invalidValue, "\(rawValue) is longer than 200 bytes") }
        case .grounds, .decisionSummary:
            if value.isLonger(than: maxTextLength) {
                return RuleViolation(.invalidValue, "\(rawValue) is longer than \(maxTextLength) bytes")
            }
        case .decisionDate:
            guard let date = CalendarDate(value), WireForm.dates.contains(date) else {
                return RuleViolation(.invalidValue, "decisionDate must be a date like 2026-03-02 (years 1900 to 2199)")
            }
        case .hearingAt:
            guard let time = Timestamp(iso8601: value), WireForm.dates.contains(time.utcDate) else {
                return RuleViolation(.invalidValue, "hearingAt must be a UTC time like 2026-05-12T09:30:00Z (years 1900 to 2199)")
            }
        case .contactEmail:
            let parts = value.split(separator: "@", omittingEmptySubsequences: false)
            if value.utf8.count > 254 || parts.count != 2 || parts[0].isEmpty || !parts[1].contains(".") {
                return RuleViolation(.invalidValue, "contactEmail must be an e-mail address like name@example.org")
            }
        case .contactPhone:
            let allowed = Set("0123456789+-() ")
            if value.utf8.count > 40 || !value.allSatisfy({ allowed.contains($0) }) {
                return RuleViolation(.invalidValue, "contactPhone may hold digits, spaces, +, - and parentheses only")
            }
        case .decisionOutcome:
            if !Self.decisionOutcomes.contains(value) {
                return RuleViolation(
                    .invalidValue, "decisionOutcome must be one of \(Self.decisionOutcomes.joined(separator: ", "))")
            }
        case .decisionType:
            if DecisionType(rawValue: value) == nil {
                return RuleViolation(
                    .invalidValue, "decisionType must be one of \(DecisionType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        case .advisoryCommittee:
            if value != "yes" && value != "no" { return RuleViolation(.invalidValue, "advisoryCommittee must be yes or no") }
        }
        return nil
    }
}

extension String {
    /// Empty or only white space (looks at characters only until it finds one that is not).
    var isBlank: Bool { !contains { !$0.isWhitespace } }

    /// More than `limit` bytes of UTF-8 (what it costs to store and send, whatever the script).
    func isLonger(than limit: Int) -> Bool { utf8.count > limit }
}
