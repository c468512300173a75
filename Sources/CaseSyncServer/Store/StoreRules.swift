import CaseSyncDomain
import CaseSyncProtocol
import Crypto
import Foundation

/// What every store decides alike about accounts, login codes and the register, whatever keeps them.
public enum AccountRules {
    /// The name of a new account, checked, and its authority (an officer's only).
    public static func newAccount(role: ActorRole, authorityId: String?, displayName: String) throws -> (name: String, authorityId: String?) {
        let name = displayName.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 200 else {
            throw ServiceError(.invalidRequest, "a name is needed (at most 200 characters)")
        }
        if role == .officer, authorityId?.isEmpty ?? true {
            throw ServiceError(.invalidRequest, "an officer belongs to an authority; name it with --authority")
        }
        return (name, role == .officer ? authorityId : nil)
    }

    /// Refuses an officer for an authority the register does not hold.
    public static func checkOfficerAuthority(_ authorityId: String, standing: AuthorityStanding) throws {
        if case .unknown(let suggestions) = standing {
            throw ServiceError(.unknownAuthority, RuleViolation.unknownAuthority(authorityId, suggestions: suggestions).message)
        }
    }

    /// A new login code for an account, valid for `days`, and the hash a store keeps of it.
    public static func loginCode(accountId: String, days: Int, environment: ServerEnvironment) -> (invitation: Invitation, hash: String) {
        let code = Credentials.makeLoginCode(environment.randomBytes(12))
        let expiresAt = Timestamp(millisecondsSince1970: environment.now().millisecondsSince1970 + Int64(days) * 86_400_000)
        return (Invitation(accountId: accountId, code: code, expiresAt: expiresAt), Credentials.hash(code: code))
    }

    /// The hash under which a store finds a login code someone typed.
    public static func codeHash(_ code: String) -> String { Credentials.hash(code: code) }

    /// The hash under which a store keeps a device token.
    public static func tokenHash(_ token: String) -> String { Credentials.hash(token: token) }

    /// A new device's token, client id and name (at most 100 characters).
    public static func newDevice(_ request: RedeemRequest, environment: ServerEnvironment) -> (token: String, clientId: String, name: String?) {
        (Credentials.makeToken(environment.randomBytes(32)), Credentials.makeClientId(environment.randomBytes(10)),
         request.deviceName.map { String($0.prefix(100)) })
    }

    public static let noSuchAccount = ServiceError(.notFound, "no account has this id")

    public static let invalidCode = ServiceError(
        .invalidLoginCode, "this login code is not valid: it may be mistyped, used already or expired; ask for a new one")

    /// Refuses a new device for a disabled account (its codes stop working too).
    public static func checkEnabled(disabledAt: Int64?) throws {
        if disabledAt != nil {
            throw ServiceError(
                .invalidRequest, "this account is disabled: enable it first (casesync-server accounts enable --account ID)")
        }
    }

    /// An account as stored: its role must be one the protocol knows.
    public static func account(id: String, role: String, authorityId: String?, displayName: String) throws -> AccountInfo {
        guard let role = ActorRole(rawValue: role) else { throw ServiceError(.internalError, "an account has an unknown role") }
        return AccountInfo(id: id, role: role, authorityId: authorityId, displayName: displayName)
    }
}

public enum AuthorityRules {
    /// An authority's fields in their forms: an id of the token form, a name, an address.
    public static func check(_ authority: Authority) throws {
        guard WireForm.isToken(authority.id) else {
            throw ServiceError(.invalidRequest, "an authority id is 1 to 64 of a-z 0-9 - _ (e.g. gm0344): \(authority.id.prefix(64))")
        }
        guard !authority.name.trimmingCharacters(in: .whitespaces).isEmpty, authority.name.utf8.count <= 200 else {
            throw ServiceError(.invalidRequest, "authority \(authority.id) needs a name (at most 200 bytes)")
        }
        let lines = authority.postalAddress
        guard !lines.isEmpty, lines.count <= 6,
            lines.allSatisfy({ !$0.trimmingCharacters(in: .whitespaces).isEmpty && $0.utf8.count <= 200 && !$0.contains("\n") })
        else {
            throw ServiceError(.invalidRequest, "authority \(authority.id) needs a postal address of 1 to 6 lines")
        }
        if let official = authority.taxOfficial, official.utf8.count > 200 {
            throw ServiceError(.invalidRequest, "authority \(authority.id): the tax official takes at most 200 bytes")
        }
    }

    /// The register of `authorities` (sorted by name, then id), and its version: a digest of its content.
    public static func register(_ authorities: [Authority]) throws -> AuthorityRegister {
        let sorted = ordered(authorities)
        let content = try WireCoding.encoder().encode(sorted)
        let version = SHA256.hash(data: content).prefix(8).map { String(format: "%02x", $0) }.joined()
        return AuthorityRegister(version: version, authorities: sorted)
    }

    /// The register's order (by name, then id), the same on every backend whatever its collation.
    public static func ordered(_ authorities: [Authority]) -> [Authority] {
        authorities.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    /// How a store keeps an address (lines separated by newlines) and reads it back.
    public static func storedAddress(_ authority: Authority) -> String { authority.postalAddress.joined(separator: "\n") }
    public static func address(stored: String) -> [String] { stored.components(separatedBy: "\n") }
}

/// What compaction drops and what that changes, decided from the tombstones past the retention.
public struct CompactionPlan: Sendable {
    /// A tombstone past the retention: its place, who saw it, and its stored bytes.
    public struct Tombstone: Sendable {
        public var seq: Int64
        public var citizenId: String?
        public var authorityId: String?
        public var bytes: Int64

        public init(seq: Int64, citizenId: String?, authorityId: String?, bytes: Int64) {
            self.seq = seq
            self.citizenId = citizenId
            self.authorityId = authorityId
            self.bytes = bytes
        }
    }

    /// Each scope's newest dropped tombstone: a cursor of that scope below it must pull from the start.
    public var horizons: [String: Int64] = [:]
    /// The bytes each citizen's storage count loses (tombstones count until they are gone).
    public var freed: [String: Int64] = [:]
    public var newest: Int64?
    public var count = 0

    public init(_ tombstones: [Tombstone]) {
        for tombstone in tombstones {
            if let citizen = tombstone.citizenId {
                horizons[ScopeKey.citizen(citizen)] = max(horizons[ScopeKey.citizen(citizen)] ?? 0, tombstone.seq)
                freed[ScopeKey.citizen(citizen), default: 0] += tombstone.bytes
            }
            if let authority = tombstone.authorityId {
                horizons[ScopeKey.authority(authority)] = max(horizons[ScopeKey.authority(authority)] ?? 0, tombstone.seq)
            }
            newest = max(newest ?? 0, tombstone.seq)
        }
        count = tombstones.count
    }

    /// The oldest change time a tombstone may have and stay, for a retention in days.
    public static func horizon(retentionDays: Int, now: Timestamp) throws -> Int64 {
        guard retentionDays >= 0 else { throw ServiceError(.invalidRequest, "the retention must be zero days or more") }
        return now.millisecondsSince1970 - Int64(retentionDays) * 86_400_000
    }
}

/// What a compaction removed.
public struct CompactionReport: Sendable, Hashable {
    /// Tombstones dropped.
    public var tombstonesRemoved: Int
    /// The newest change compaction has dropped so far; a cursor below it may have to pull from the
    /// start (`resync_required`) if its own scope lost a tombstone.
    public var compactedThrough: Int64

    public init(tombstonesRemoved: Int, compactedThrough: Int64) {
        self.tombstonesRemoved = tombstonesRemoved
        self.compactedThrough = compactedThrough
    }
}
