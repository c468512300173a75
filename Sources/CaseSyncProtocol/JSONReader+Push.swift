import Foundation

extension PushRequest {
    /// Reads a push request strictly (see `JSONReader`); errors name the property that is wrong.
    public init(json: some Collection<UInt8>) throws {
        self = try JSONReader.read(Array(json)) { try $0.pushRequest() }
    }
}

extension PushResponse {
    /// Reads a push answer strictly.
    public init(json: some Collection<UInt8>) throws {
        self = try JSONReader.read(Array(json)) { try $0.pushResponse() }
    }
}

extension JSONReader {
    /// A required property that the object did not have.
    func missing(_ key: String) -> JSONReadError {
        var error = fail("is missing")
        error.path = [key]
        return error
    }

    /// A string of one of `type`'s raw values.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ type: T.Type) throws -> T where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            throw fail("should be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// A lower-case UUID (case, message and conflict ids).
    mutating func uuid() throws -> String {
        let text = try string()
        guard WireForm.isUUID(text) else { throw fail("should be a lower-case UUID like 5f0c1e2a-0000-4000-8000-00000000c001") }
        return text
    }

    /// A clock reading in its wire form.
    mutating func clock() throws -> HLCTimestamp {
        guard let clock = HLCTimestamp(try string()) else {
            throw fail("should be a clock reading like 1772443800000-0000-<client id>")
        }
        return clock
    }

    mutating func pushRequest() throws -> PushRequest {
        var clientId: String?
        var mutations: [Mutation]?
        try object { reader, key in
            switch key {
            case "clientId": clientId = try reader.string()
            case "mutations":
                var list: [Mutation] = []
                try reader.array { reader in list.append(try reader.mutation()) }
                mutations = list
            default: try reader.skipValue()
            }
        }
        guard let clientId else { throw missing("clientId") }
        guard let mutations else { throw missing("mutations") }
        return PushRequest(clientId: clientId, mutations: mutations)
    }

    /// A case's fields: names of ASCII letters and digits, string values.
    mutating func stringMap() throws -> [String: String] {
        var map: [String: String] = [:]
        try object { reader, key in
            guard WireForm.isFieldName(key) else { throw reader.fail("is not a field name (1 to 64 ASCII letters and digits)") }
            map[key] = try reader.string()
        }
        return map
    }

    mutating func optionalString() throws -> String? {
        try null() ? nil : string()
    }

    mutating func mutation() throws -> Mutation {
        var mutationId: Int64?, caseId: String?, baseVersion: Int64?, hlc: HLCTimestamp?, op: String?
        var newCase: NewCase?, changes: [FieldChange]?, transition: StatusTransition?
        var messageId: String?, body: String?, conflictId: String?, keep: ConflictResolutionChoice?
        var deadline: DeadlineChange?
        var attachment: NewAttachment?
        try object { reader, key in
            switch key {
            case "mutationId": mutationId = try reader.integer()
            case "caseId": caseId = try reader.uuid()
            case "baseVersion": baseVersion = try reader.null() ? nil : try reader.integer()
            case "hlc": hlc = try reader.clock()
            case "op": op = try reader.string()
            case "case":
                var kind: CaseKind?, authorityId: String?, fields: [String: String]?
                try reader.object { reader, key in
                    switch key {
                    case "kind": kind = try reader.knownName(CaseKind.self)
                    case "authorityId":
                        let id = try reader.string()
                        guard WireForm.isToken(id) else {
                            throw reader.fail("should be an authority id: 1 to 64 lower-case letters, digits, - or _")
                        }
                        authorityId = id
                    case "fields": fields = try reader.stringMap()
                    default: try reader.skipValue()
                    }
                }
                guard let kind else { throw reader.missing("kind") }
                guard let authorityId else { throw reader.missing("authorityId") }
                guard let fields else { throw reader.missing("fields") }
                newCase = NewCase(kind: kind, authorityId: authorityId, fields: fields)
            case "changes":
                var list: [FieldChange] = []
                try reader.array { reader in
                    var field: String?, from: String?, to: String?
                    try reader.object { reader, key in
                        switch key {
                        case "field": field = try reader.string()
                        case "from": from = try reader.optionalString()
                        case "to": to = try reader.optionalString()
                        default: try reader.skipValue()
                        }
                    }
                    guard let field else { throw reader.missing("field") }
                    guard WireForm.isFieldName(field) else { throw reader.fail("field is not a field name") }
                    list.append(FieldChange(field: field, from: from, to: to))
                }
                changes = list
            case "transition":
                var to: CaseStatus?, note: String?, fields: [String: String]?
                try reader.object { reader, key in
                    switch key {
                    case "to": to = try reader.choice(CaseStatus.self)
                    case "note": note = try reader.optionalString()
                    case "fields": fields = try reader.null() ? nil : try reader.stringMap()
                    default: try reader.skipValue()
                    }
                }
                guard let to else { throw reader.missing("to") }
                transition = StatusTransition(to: to, note: note, fields: fields)
            case "messageId": messageId = try reader.uuid()
            case "body": body = try reader.string()
            case "conflictId": conflictId = try reader.uuid()
            case "keep": keep = try reader.choice(ConflictResolutionChoice.self)
            case "deadline": deadline = try reader.deadlineChange()
            case "attachment": attachment = try reader.newAttachment()
            default: try reader.skipValue()
            }
        }
        guard let mutationId else { throw missing("mutationId") }
        guard let caseId else { throw missing("caseId") }
        guard let hlc else { throw missing("hlc") }
        guard let op else { throw missing("op") }
        let operation: MutationOperation
        switch op {
        case "create":
            guard let newCase else { throw missing("case") }
            operation = .create(newCase)
        case "edit":
            guard let changes else { throw missing("changes") }
            operation = .edit(changes)
        case "transition":
            guard let transition else { throw missing("transition") }
            operation = .transition(transition)
        case "add_message":
            guard let messageId else { throw missing("messageId") }
            guard let body else { throw missing("body") }
            operation = .addMessage(id: messageId, body: body)
        case "resolve_conflict":
            guard let conflictId else { throw missing("conflictId") }
            guard let keep else { throw missing("keep") }
            operation = .resolveConflict(conflictId: conflictId, keep: keep)
        case "delete": operation = .delete
        case "deadline":
            guard let deadline else { throw missing("deadline") }
            operation = .deadline(deadline)
        case "attach":
            guard let attachment else { throw missing("attachment") }
            operation = .attach(attachment)
        default:
            var error = fail("should be one of create, edit, transition, add_message, resolve_conflict, delete, deadline or attach")
            error.path = ["op"]
            throw error
        }
        return Mutation(mutationId: mutationId, caseId: caseId, baseVersion: baseVersion, hlc: hlc, operation: operation)
    }

    /// An `attach` mutation's attachment: its id, the blob's SHA-256 and a file name.
    mutating func newAttachment() throws -> NewAttachment {
        var id: String?, sha256: String?, name: String?
        try object { reader, key in
            switch key {
            case "id": id = try reader.uuid()
            case "sha256":
                let digest = try reader.string()
                guard AttachmentRules.isDigest(digest) else { throw reader.fail("should be a SHA-256: 64 lower-case hex digits") }
                sha256 = digest
            case "name":
                let text = try reader.string()
                if let problem = AttachmentRules.nameProblem(text) { throw reader.fail(problem) }
                name = text
            default: try reader.skipValue()
            }
        }
        guard let id else { throw missing("id") }
        guard let sha256 else { throw missing("sha256") }
        guard let name else { throw missing("name") }
        return NewAttachment(id: id, sha256: sha256, name: name)
    }

    mutating func pushResponse() throws -> PushResponse {
        var outcomes: [MutationOutcome]?
        var lastMutationId: Int64?
        try object { reader, key in
            switch key {
            case "lastMutationId": lastMutationId = try reader.integer()
            case "outcomes":
                var list: [MutationOutcome] = []
                try reader.array { reader in list.append(try reader.outcome()) }
                outcomes = list
            default: try reader.skipValue()
            }
        }
        guard let outcomes else { throw missing("outcomes") }
        guard let lastMutationId else { throw missing("lastMutationId") }
        return PushResponse(outcomes: outcomes, lastMutationId: lastMutationId)
    }

    mutating func outcome() throws -> MutationOutcome {
        var mutationId: Int64?, status: MutationOutcome.Status?, version: Int64?
        var conflicts: [FieldConflict]?, code: ErrorCode?, message: String?
        try object { reader, key in
            switch key {
            case "mutationId": mutationId = try reader.integer()
            case "status": status = try reader.choice(MutationOutcome.Status.self)
            case "version": version = try reader.null() ? nil : try reader.integer()
            case "code": code = try reader.optionalString().map(ErrorCode.init(rawValue:))
            case "message": message = try reader.optionalString()
            case "conflicts":
                var list: [FieldConflict] = []
                try reader.array { reader in
                    var field: String?, policy: FieldPolicy?, winner: MergeWinner?, clientValue: String?, serverValue: String?
                    try reader.object { reader, key in
                        switch key {
                        case "field": field = try reader.string()
                        case "policy": policy = try reader.choice(FieldPolicy.self)
                        case "winner": winner = try reader.choice(MergeWinner.self)
                        case "clientValue": clientValue = try reader.optionalString()
                        case "serverValue": serverValue = try reader.optionalString()
                        default: try reader.skipValue()
                        }
                    }
                    guard let field else { throw reader.missing("field") }
                    guard let policy else { throw reader.missing("policy") }
                    guard let winner else { throw reader.missing("winner") }
                    list.append(FieldConflict(field: field, policy: policy, winner: winner, clientValue: clientValue, serverValue: serverValue))
                }
                conflicts = list
            default: try reader.skipValue()
            }
        }
        guard let mutationId else { throw missing("mutationId") }
        guard let status else { throw missing("status") }
        return MutationOutcome(mutationId: mutationId, status: status, version: version, conflicts: conflicts, code: code, message: message)
    }

    mutating func deadlineChange() throws -> DeadlineChange {
        var action: DeadlineChange.Action?, weeks: Int?, consent: Bool?, date: CalendarDate?, note: String?
        try object { reader, key in
            switch key {
            case "action": action = try reader.choice(DeadlineChange.Action.self)
            case "weeks": weeks = try reader.null() ? nil : Int(try reader.integer())
            case "consent": consent = try reader.null() ? nil : try reader.bool()
            case "effectiveDate":
                if let text = try reader.optionalString() {
                    guard let parsed = CalendarDate(text), WireForm.dates.contains(parsed) else {
                        throw reader.fail("should be a date like 2026-03-02 (years 1900 to 2199)")
                    }
                    date = parsed
                }
            case "note": note = try reader.optionalString()
            default: try reader.skipValue()
            }
        }
        guard let action else { throw missing("action") }
        return DeadlineChange(action: action, weeks: weeks, consent: consent, effectiveDate: date, note: note)
    }
}
