/// An authority a server serves: where objections go and who decides them. Ids are the government's
/// own organisation codes where they exist (the CBS municipality code, `gm0344` for Utrecht).
public struct Authority: Codable, Sendable, Hashable {
    /// A stable id in the token form (PROTOCOL.md §2), e.g. `gm0344`.
    public var id: String
    /// The official name, e.g. `Gemeente Utrecht`.
    public var name: String
    /// The postal address for objections, one line each (`Postbus 16200`, `3500 CE Utrecht`).
    public var postalAddress: [String]
    /// For municipal taxes: the official who decides objections, as a letter addresses them
    /// (`De heffingsambtenaar van de gemeente Utrecht`).
    public var taxOfficial: String?

    public init(id: String, name: String, postalAddress: [String], taxOfficial: String? = nil) {
        self.id = id
        self.name = name
        self.postalAddress = postalAddress
        self.taxOfficial = taxOfficial
    }
}

/// The answer of `GET /authorities`: the whole register and its version (also its `ETag`).
public struct AuthorityRegister: Codable, Sendable, Hashable {
    /// Changes whenever the register does; a device that holds this version has the register.
    public var version: String
    public var authorities: [Authority]

    public init(version: String, authorities: [Authority]) {
        self.version = version
        self.authorities = authorities
    }
}
