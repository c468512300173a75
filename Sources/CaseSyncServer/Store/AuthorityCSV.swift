import CaseSyncProtocol

/// The register's file form, for `casesync-server authorities import`: CSV (RFC 4180, comma, quotes
/// doubled inside quoted fields) with the header `id,name,postal_address,postcode,city,tax_official`.
/// The address's lines are `postal_address` and `postcode city`; `tax_official` may be empty.
public enum AuthorityCSV {
    public static let header = ["id", "name", "postal_address", "postcode", "city", "tax_official"]

    /// The authorities in `text`; an error names the line of the first problem.
    public static func parse(_ text: String) throws -> [Authority] {
        let rows = try records(text)
        guard let first = rows.first, first.map({ $0.lowercased() }) == header else {
            throw ServiceError(.invalidRequest, "the first line must be the header \(header.joined(separator: ","))")
        }
        var seen: Set<String> = []
        return try rows.dropFirst().enumerated().compactMap { offset, fields -> Authority? in
            let line = offset + 2
            if fields.allSatisfy({ $0.isEmpty }) { return nil }
            guard fields.count == header.count else {
                throw ServiceError(.invalidRequest, "line \(line) has \(fields.count) fields; it needs \(header.count)")
            }
            let value = { (index: Int) in fields[index].trimmingCharacters(in: .whitespaces) }
            let authority = Authority(
                id: value(0), name: value(1), postalAddress: [value(2), "\(value(3)) \(value(4))"],
                taxOfficial: value(5).isEmpty ? nil : value(5))
            guard seen.insert(authority.id).inserted else {
                throw ServiceError(.invalidRequest, "line \(line): authority \(authority.id) is in the file twice")
            }
            do {
                try AuthorityRules.check(authority)
            } catch let error as ServiceError {
                throw ServiceError(.invalidRequest, "line \(line): \(error.message)")
            }
            return authority
        }
    }

    /// The authorities as a file of this form.
    public static func write(_ authorities: [Authority]) -> String {
        let rows = authorities.map { authority -> [String] in
            let last = authority.postalAddress.last ?? ""
            let postcode = last.split(separator: " ").prefix(2).joined(separator: " ")
            let city = last.split(separator: " ").dropFirst(2).joined(separator: " ")
            return [authority.id, authority.name, authority.postalAddress.first ?? "", postcode, city, authority.taxOfficial ?? ""]
        }
        return ([header] + rows).map { $0.map(quoted).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    private static func quoted(_ field: String) -> String {
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }

    /// The fields of each line; quoted fields may hold commas, quotes (doubled) and line breaks.
    static func records(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = text.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    if let next = characters.next() {
                        if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
                continue
            }
            switch character {
            case "\"" where field.isEmpty: quoted = true
            case ",": row.append(field); field = ""
            case "\n", "\r\n", "\r":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            default: field.append(character)
            }
        }
        guard !quoted else { throw ServiceError(.invalidRequest, "a quoted field is never closed") }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
