import Foundation

extension PushRequest {
    /// Reads a push request with the fast reader. On anything unexpected it falls back to
    /// `JSONDecoder`, so errors name the offending property exactly as before.
    public init(json: some Collection<UInt8>) throws {
        let bytes = Array(json)
        var reader = JSONReader(bytes)
        if let request = try? reader.pushRequest() {
            self = request
        } else {
            self = try WireCoding.decoder().decode(PushRequest.self, from: Data(bytes))
        }
    }
}

extension PushResponse {
    /// Reads a push answer with the fast reader, falling back to `JSONDecoder` on anything unexpected.
    public init(json: some Collection<UInt8>) throws {
        let bytes = Array(json)
        var reader = JSONReader(bytes)
        if let response = try? reader.pushResponse() {
            self = response
        } else {
            self = try WireCoding.decoder().decode(PushResponse.self, from: Data(bytes))
        }
    }
}

extension JSONReader {
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
        guard let clientId, let mutations else { throw fail("a push needs clientId and mutations") }
        return PushRequest(clientId: clientId, mutations: mutations)
    }

    mutating func stringMap() throws -> [String: String] {
        var map: [String: String] = [:]
        try object { reader, key in map[key] = try reader.string() }
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
        try object { reader, key in
            switch key {
            case "mutationId": mutationId = try reader.integer()
            case "caseId": caseId = try reader.string()
            case "baseVersion": baseVersion = try reader.null() ? nil : try reader.integer()
            case "hlc":
                guard let clock = HLCTimestamp(try reader.string()) else { throw reader.fail("bad clock") }
                hlc = clock
            case "op": op = try reader.string()
            case "case":
                var kind: CaseKind?, authorityId: String?, fields: [String: String]?
                try reader.object { reader, key in
                    switch key {
                    case "kind": kind = CaseKind(rawValue: try reader.string())
                    case "authorityId": authorityId = try reader.string()
                    case "fields": fields = try reader.stringMap()
                    default: try reader.skipValue()
                    }
                }
                guard let kind, let authorityId, let fields else { throw reader.fail("incomplete case") }
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
                    guard let field else { throw reader.fail("a change needs a field") }
                    list.append(FieldChange(field: field, from: from, to: to))
                }
                changes = list
            case "transition":
                var to: CaseStatus?, note: String?, fields: [String: String]?
                try reader.object { reader, key in
                    switch key {
                    case "to": to = CaseStatus(rawValue: try reader.string())
                    case "note": note = try reader.optionalString()
                    case "fields": fields = try reader.null() ? nil : try reader.stringMap()
                    default: try reader.skipValue()
                    }
                }
                guard let to else { throw reader.fail("a transition needs to") }
                transition = StatusTransition(to: to, note: note, fields: fields)
            case "messageId": messageId = try reader.string()
            case "body": body = try reader.string()
            case "conflictId": conflictId = try reader.string()
            case "keep": keep = ConflictResolutionChoice(rawValue: try reader.string())
            case "deadline": deadline = try reader.deadlineChange()
            default: try reader.skipValue()
            }
        }
        guard let mutationId, let caseId, let hlc, let op else { throw fail("incomplete mutation") }
        let operation: MutationOperation
        switch op {
        case "create":
            guard let newCase else { throw fail("create needs case") }
            operation = .create(newCase)
        case "edit":
            guard let changes else { throw fail("edit needs changes") }
            operation = .edit(changes)
        case "transition":
            guard let transition else { throw fail("transition needs transition") }
            operation = .transition(transition)
        case "add_message":
            guard let messageId, let body else { throw fail("add_message needs messageId and body") }
            operation = .addMessage(id: messageId, body: body)
        case "resolve_conflict":
            guard let conflictId, let keep else { throw fail("resolve_conflict needs conflictId and keep") }
            operation = .resolveConflict(conflictId: conflictId, keep: keep)
        case "delete": operation = .delete
        case "deadline":
            guard let deadline else { throw fail("deadline needs deadline") }
            operation = .deadline(deadline)
        default: throw fail("unknown op")
        }
        return Mutation(mutationId: mutationId, caseId: caseId, baseVersion: baseVersion, hlc: hlc, operation: operation)
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
        guard let outcomes, let lastMutationId else { throw fail("a push answer needs outcomes and lastMutationId") }
        return PushResponse(outcomes: outcomes, lastMutationId: lastMutationId)
    }

    mutating func outcome() throws -> MutationOutcome {
        var mutationId: Int64?, status: MutationOutcome.Status?, version: Int64?
        var conflicts: [FieldConflict]?, code: ErrorCode?, message: String?
        try object { reader, key in
            switch key {
            case "mutationId": mutationId = try reader.integer()
            case "status": status = MutationOutcome.Status(rawValue: try reader.string())
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
                        case "policy": policy = FieldPolicy(rawValue: try reader.string())
                        case "winner": winner = MergeWinner(rawValue: try reader.string())
                        case "clientValue": clientValue = try reader.optionalString()
                        case "serverValue": serverValue = try reader.optionalString()
                        default: try reader.skipValue()
                        }
                    }
                    guard let field, let policy, let winner else { throw reader.fail("incomplete conflict") }
                    list.append(FieldConflict(field: field, policy: policy, winner: winner, clientValue: clientValue, serverValue: serverValue))
                }
                conflicts = list
            default: try reader.skipValue()
            }
        }
        guard let mutationId, let status else { throw fail("incomplete outcome") }
        return MutationOutcome(mutationId: mutationId, status: status, version: version, conflicts: conflicts, code: code, message: message)
    }

    mutating func deadlineChange() throws -> DeadlineChange {
        var action: DeadlineChange.Action?, weeks: Int?, consent: Bool?, date: CalendarDate?, note: String?
        try object { reader, key in
            switch key {
            case "action": action = DeadlineChange.Action(rawValue: try reader.string())
            case "weeks": weeks = try reader.null() ? nil : Int(try reader.integer())
            case "consent": consent = try reader.null() ? nil : try reader.bool()
            case "effectiveDate":
                if let text = try reader.optionalString() {
                    guard let parsed = CalendarDate(text) else { throw reader.fail("bad effectiveDate") }
                    date = parsed
                }
            case "note": note = try reader.optionalString()
            default: try reader.skipValue()
            }
        }
        guard let action else { throw fail("a deadline change needs an action") }
        return DeadlineChange(action: action, weeks: weeks, consent: consent, effectiveDate: date, note: note)
    }
}
