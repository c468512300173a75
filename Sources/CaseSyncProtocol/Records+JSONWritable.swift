import Foundation

extension CaseRecord: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("authorityId"); writer.string(authorityId)
        writer.key("citizenId"); writer.string(citizenId)
        writer.key("clocks")
        writer.beginObject()
        for key in clocks.keys.sorted() {
            writer.key(key)
            writer.hlc(clocks[key]!)
        }
        writer.endObject()
        writer.key("createdAt"); writer.timestamp(createdAt)
        writer.key("fields"); writer.stringMap(fields)
        writer.key("id"); writer.string(id)
        writer.key("kind"); writer.string(kind.rawValue)
        writer.key("status"); writer.string(status.rawValue)
        writer.key("updatedAt"); writer.timestamp(updatedAt)
        writer.endObject()
    }
}

extension TimelineEvent: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let actorName { writer.key("actorName"); writer.string(actorName) }
        writer.key("actorRole"); writer.string(actorRole.rawValue)
        writer.key("at"); writer.timestamp(at)
        writer.key("caseId"); writer.string(caseId)
        if let consent { writer.key("consent"); writer.bool(consent) }
        if let effectiveDate { writer.key("effectiveDate"); writer.string(effectiveDate.description) }
        writer.key("id"); writer.string(id)
        if let note { writer.key("note"); writer.string(note) }
        if let status { writer.key("status"); writer.string(status.rawValue) }
        writer.key("type"); writer.string(type.rawValue)
        if let weeks { writer.key("weeks"); writer.int(Int64(weeks)) }
        writer.endObject()
    }
}

extension AttachmentRecord: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("addedAt"); writer.timestamp(addedAt)
        writer.key("addedByName"); writer.string(addedByName)
        writer.key("addedByRole"); writer.string(addedByRole.rawValue)
        writer.key("caseId"); writer.string(caseId)
        writer.key("contentType"); writer.string(contentType)
        writer.key("id"); writer.string(id)
        writer.key("name"); writer.string(name)
        writer.key("sha256"); writer.string(sha256)
        writer.key("size"); writer.int(size)
        writer.endObject()
    }
}

extension CaseMessage: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("authorName"); writer.string(authorName)
        writer.key("authorRole"); writer.string(authorRole.rawValue)
        writer.key("body"); writer.string(body)
        writer.key("caseId"); writer.string(caseId)
        writer.key("id"); writer.string(id)
        writer.key("sentAt"); writer.timestamp(sentAt)
        writer.endObject()
    }
}

extension FieldConflict: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let clientValue { writer.key("clientValue"); writer.string(clientValue) }
        writer.key("field"); writer.string(field)
        writer.key("policy"); writer.string(policy.rawValue)
        if let serverValue { writer.key("serverValue"); writer.string(serverValue) }
        writer.key("winner"); writer.string(winner.rawValue)
        writer.endObject()
    }
}

extension ConflictRecord: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("caseId"); writer.string(caseId)
        writer.key("clientId"); writer.string(clientId)
        writer.key("conflict"); conflict.write(to: &writer)
        writer.key("createdAt"); writer.timestamp(createdAt)
        writer.key("id"); writer.string(id)
        writer.key("mutationId"); writer.int(mutationId)
        if let resolution { writer.key("resolution"); writer.string(resolution.rawValue) }
        writer.endObject()
    }
}

extension MutationOutcome: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let code { writer.key("code"); writer.string(code.rawValue) }
        if let conflicts {
            writer.key("conflicts")
            writer.beginArray()
            for conflict in conflicts { conflict.write(to: &writer) }
            writer.endArray()
        }
        if let message { writer.key("message"); writer.string(message) }
        writer.key("mutationId"); writer.int(mutationId)
        writer.key("status"); writer.string(status.rawValue)
        if let version { writer.key("version"); writer.int(version) }
        writer.endObject()
    }
}

extension PushResponse: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("lastMutationId"); writer.int(lastMutationId)
        writer.key("outcomes")
        writer.beginArray()
        for outcome in outcomes { outcome.write(to: &writer) }
        writer.endArray()
        writer.endObject()
    }
}

extension StateChecksum: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("count"); writer.int(count)
        writer.key("digest"); writer.string(digest)
        writer.endObject()
    }
}

extension RecordData: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .case(let record): record.write(to: &writer)
        case .event(let event): event.write(to: &writer)
        case .message(let message): message.write(to: &writer)
        case .conflict(let conflict): conflict.write(to: &writer)
        case .attachment(let attachment): attachment.write(to: &writer)
        case .unknown(_, let json): writer.raw(json)
        }
    }
}

extension Mutation: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if case .attach(let attachment) = operation {
            writer.key("attachment")
            writer.beginObject()
            writer.key("id"); writer.string(attachment.id)
            writer.key("name"); writer.string(attachment.name)
            writer.key("sha256"); writer.string(attachment.sha256)
            writer.endObject()
        }
        if let baseVersion { writer.key("baseVersion"); writer.int(baseVersion) }
        if case .addMessage(_, let body) = operation { writer.key("body"); writer.string(body) }
        if case .create(let newCase) = operation {
            writer.key("case")
            writer.beginObject()
            writer.key("authorityId"); writer.string(newCase.authorityId)
            writer.key("fields"); writer.stringMap(newCase.fields)
            writer.key("kind"); writer.string(newCase.kind.rawValue)
            writer.endObject()
        }
        writer.key("caseId"); writer.string(caseId)
        if case .edit(let changes) = operation {
            writer.key("changes")
            writer.beginArray()
            for change in changes {
                writer.beginObject()
                writer.key("field"); writer.string(change.field)
                writer.key("from"); writer.string(change.from)
                writer.key("to"); writer.string(change.to)
                writer.endObject()
            }
            writer.endArray()
        }
        if case .resolveConflict(let conflictId, _) = operation { writer.key("conflictId"); writer.string(conflictId) }
        if case .deadline(let change) = operation {
            writer.key("deadline")
            writer.beginObject()
            writer.key("action"); writer.string(change.action.rawValue)
            if let consent = change.consent { writer.key("consent"); writer.bool(consent) }
            if let date = change.effectiveDate { writer.key("effectiveDate"); writer.string(date.description) }
            if let note = change.note { writer.key("note"); writer.string(note) }
            if let weeks = change.weeks { writer.key("weeks"); writer.int(Int64(weeks)) }
            writer.endObject()
        }
        writer.key("hlc"); writer.hlc(hlc)
        if case .resolveConflict(_, let keep) = operation { writer.key("keep"); writer.string(keep.rawValue) }
        if case .addMessage(let id, _) = operation { writer.key("messageId"); writer.string(id) }
        writer.key("mutationId"); writer.int(mutationId)
        writer.key("op"); writer.string(operation.name)
        if case .transition(let transition) = operation {
            writer.key("transition")
            writer.beginObject()
            if let fields = transition.fields { writer.key("fields"); writer.stringMap(fields) }
            if let note = transition.note { writer.key("note"); writer.string(note) }
            writer.key("to"); writer.string(transition.to.rawValue)
            writer.endObject()
        }
        writer.endObject()
    }

    /// A stable hash of the mutation's content (FNV-1a 64 of its JSON with sorted keys): tells a
    /// retry (same content) from a reused id (other content).
    public var fingerprint: UInt64 { FNV1a64.hash(jsonBytes) }
}

extension PushRequest: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("clientId"); writer.string(clientId)
        writer.key("mutations")
        writer.beginArray()
        for mutation in mutations { mutation.write(to: &writer) }
        writer.endArray()
        writer.endObject()
    }
}

extension PullPage: JSONWritable where Record == Data {
    /// The page as protocol JSON (the shape of `PullResponse`, keys sorted), records spliced in as stored.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("changes")
        writer.beginArray()
        for change in changes {
            writer.beginObject()
            // `caseId` only where it differs from `id` (not for a case record), `deleted` only when true.
            if change.caseId != change.id { writer.key("caseId"); writer.string(change.caseId) }
            writer.key("data")
            if let data = change.data, !change.deleted { writer.raw(data) } else { writer.null() }
            if change.deleted { writer.key("deleted"); writer.bool(true) }
            writer.key("id"); writer.string(change.id)
            writer.key("seq"); writer.int(change.seq)
            writer.key("type"); writer.string(change.type.rawValue)
            writer.key("version"); writer.int(change.version)
            writer.endObject()
        }
        writer.endArray()
        if let checksum { writer.key("checksum"); checksum.write(to: &writer) }
        writer.key("cursor"); writer.string(cursor)
        writer.key("hasMore"); writer.bool(hasMore)
        writer.endObject()
    }
}
