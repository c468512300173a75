import CaseSyncProtocol

/// Finds an authority in a register from what a person typed: its id or an unambiguous part of its
/// name, without regard to case or accents. When nothing matches, the closest names are suggested,
/// so `gemeente-utrech` leads to Gemeente Utrecht (gm0344) instead of a case filed into the void.
public struct AuthoritySearch: Sendable {
    public enum Result: Sendable, Hashable {
        case found(Authority)
        /// Several authorities match; the person must choose.
        case ambiguous([Authority])
        /// None matches; the closest ones, best first (possibly none).
        case unknown(suggestions: [Authority])
    }

    public let authorities: [Authority]

    public init(_ authorities: [Authority]) {
        self.authorities = authorities.sorted { $0.name < $1.name }
    }

    /// The authority `text` names.
    public func resolve(_ text: String) -> Result {
        let wanted = Self.folded(text)
        guard !wanted.isEmpty else { return .unknown(suggestions: []) }
        if let exact = authorities.first(where: { Self.folded($0.id) == wanted || Self.folded($0.name) == wanted }) {
            return .found(exact)
        }
        let containing = search(text)
        switch containing.count {
        case 1: return .found(containing[0])
        case 2...: return .ambiguous(containing)
        default: return .unknown(suggestions: suggestions(for: text))
        }
    }

    /// Whether the register holds exactly the id `id`, and if not, the closest authorities it does:
    /// what filing checks, on the device and on the server alike.
    public func standing(of id: String) -> AuthorityStanding {
        authorities.contains { $0.id == id } ? .registered : .unknown(suggestions: suggestions(for: id))
    }

    /// The authorities whose id or name contains `text` (every one when it is empty).
    public func search(_ text: String) -> [Authority] {
        let wanted = Self.folded(text)
        guard !wanted.isEmpty else { return authorities }
        return authorities.filter { Self.folded($0.id).contains(wanted) || Self.folded($0.name).contains(wanted) }
    }

    /// Up to `limit` authorities closest to `text` by edit distance to their id, their name, or a word
    /// of their name; only those close enough to be a slip of the keyboard.
    public func suggestions(for text: String, limit: Int = 3) -> [Authority] {
        let wanted = Self.folded(text)
        let scored = authorities.map { authority -> (Authority, Int) in
            let name = Self.folded(authority.name)
            // The id, the name, the name written as a slug (`gemeente-utrecht`), and each word of it.
            let candidates = [Self.folded(authority.id), name, name.replacingOccurrences(of: " ", with: "-")]
                + name.split(separator: " ").map(String.init)
            let distance = candidates.map { Self.distance(wanted, $0) }.min() ?? .max
            return (authority, distance)
        }
        let allowed = max(2, wanted.count / 4)
        return scored.filter { $0.1 <= allowed }.sorted { ($0.1, $0.0.name) < ($1.1, $1.0.name) }.prefix(limit).map(\.0)
    }

    /// Lower case, accents and punctuation other than `-` and spaces dropped, spaces collapsed.
    static func folded(_ text: String) -> String {
        let plain = text.lowercased().unicodeScalars.compactMap { scalar -> Character? in
            if let base = Self.baseLetters[scalar] { return base }
            if scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || scalar == "-" { return Character(scalar) }
            return scalar.properties.isWhitespace ? " " : nil
        }
        return String(plain).split(separator: " ").joined(separator: " ")
    }

    private static let baseLetters: [Unicode.Scalar: Character] = {
        var map: [Unicode.Scalar: Character] = [:]
        for (base, accented) in [("a", "áàâäãå"), ("e", "éèêë"), ("i", "íìîï"), ("o", "óòôöõ"), ("u", "úùûü"), ("y", "ýÿ"), ("c", "ç"), ("n", "ñ")] {
            for scalar in accented.unicodeScalars { map[scalar] = Character(base) }
        }
        return map
    }()

    /// Levenshtein distance, by characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
