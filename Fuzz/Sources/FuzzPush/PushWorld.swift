import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerSQLite
import Dispatch
import GRDB
import Logging
import Synchronization

/// The server every input is pushed to: two registered authorities (`gm0344` Utrecht, `gm0363`
/// Amsterdam), a citizen and an officer of Utrecht, each with one device, and one objection to Utrecht
/// that the citizen filed and submitted. It is set up once, in an in-memory
/// database that every input gets a fresh copy of, so an input's outcome never depends on the ones
/// before it and a crash replays from its input alone.
struct PushWorld: Sendable {
    /// The vectors' time (`Protocol/vectors`): the clock stands still there.
    static let now = Timestamp(iso8601: "2026-03-02T09:00:00.000Z")!
    static let limits = ProtocolLimits()

    let template: DatabaseQueue
    let citizen: RedeemResponse
    let officer: RedeemResponse
    /// The filed case; the citizen's device has used mutation ids 1 (create) and 2 (submit).
    let caseId: String

    /// Made on first use: the entry point needs it for every input.
    static let shared: PushWorld = {
        switch blocking({ try await PushWorld() }) {
        case .success(let world): return world
        case .failure(let error): fatalError("the fuzz server could not be set up: \(error)")
        }
    }()

    private init() async throws {
        template = try DatabaseQueue()
        let store = try SQLiteSyncStore(writer: template, environment: Self.environment(), limits: Self.limits, logger: Self.logger)
        func device(_ role: ActorRole, _ name: String, authority: String?) async throws -> RedeemResponse {
            let invitation = try await store.invite(role: role, authorityId: authority, displayName: name, validFor: 7)
            return try await store.redeem(RedeemRequest(code: invitation.code, deviceName: "fuzz"))
        }
        try await store.addAuthorities([
            Authority(id: "gm0344", name: "Gemeente Utrecht", postalAddress: ["Postbus 16200", "3500 CE Utrecht"]),
            Authority(id: "gm0363", name: "Gemeente Amsterdam", postalAddress: ["Postbus 202", "1000 AE Amsterdam"]),
        ])
        citizen = try await device(.citizen, "Anna de Vries", authority: nil)
        officer = try await device(.officer, "O. Bakker", authority: "gm0344")
        caseId = CreatedId.make(from: "5f0c1e2a-0000-4000-8000-00000000c001", clientId: citizen.clientId)
        let node = citizen.clientId
        let clock = { (tick: Int64) in HLCTimestamp(millis: Self.now.millisecondsSince1970 + tick, counter: 0, node: node) }
        let fields = [
            "title": "Parking fine Oudegracht", "grounds": "My parking permit was valid and on the dashboard.",
            "decisionReference": "PT-2026-0042", "decisionDate": "2026-03-02",
        ]
        let filing = PushRequest(clientId: citizen.clientId, mutations: [
            Mutation(
                mutationId: 1, caseId: caseId, baseVersion: nil, hlc: clock(1),
                operation: .create(NewCase(kind: .objection, authorityId: "gm0344", fields: fields))),
            Mutation(mutationId: 2, caseId: caseId, baseVersion: 1, hlc: clock(2), operation: .transition(StatusTransition(to: .submitted))),
        ])
        let answer = try await InProcessTransport(service: SyncService(store: store, limits: Self.limits)).push(filing, token: citizen.token)
        guard answer.outcomes.allSatisfy({ $0.status == .applied }) else { fatalError("the case was not filed: \(answer)") }
    }

    /// An id the device with `clientId` may give a case or message it creates (none has it yet).
    func newId(by clientId: String) -> String {
        CreatedId.make(from: "5f0c1e2a-0000-4000-8000-00000000c002", clientId: clientId)
    }

    /// A server on a fresh copy of the template database.
    func transport() throws -> InProcessTransport {
        let database = try DatabaseQueue()
        try template.backup(to: database)
        // Ids made while handling an input count on from far past those the set-up made.
        let store = try SQLiteSyncStore(
            writer: database, environment: Self.environment(firstId: 1_000_000), limits: Self.limits, logger: Self.logger)
        return InProcessTransport(service: SyncService(store: store, limits: Self.limits))
    }

    /// Time, ids and random bytes that replay exactly: the clock stands at `now`, ids count up, the
    /// random bytes come from a seeded SplitMix64.
    static func environment(firstId: Int = 0) -> ServerEnvironment {
        let state = Mutex((id: firstId, random: UInt64(42)))
        return ServerEnvironment(
            now: { now },
            makeId: {
                let digits = String(state.withLock { $0.id += 1; return $0.id })
                return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - digits.count) + digits
            },
            randomBytes: { count in
                state.withLock { state in
                    (0..<count).map { _ in
                        state.random &+= 0x9E37_79B9_7F4A_7C15
                        var z = state.random
                        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
                    }
                }
            })
    }

    static var logger: Logger {
        var logger = Logger(label: "casesync-fuzz")
        logger.logLevel = .critical
        return logger
    }
}

/// Runs `body` on the concurrency pool and waits for it: libFuzzer calls its entry point on a thread
/// of its own, synchronously.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<T, any Error>?>(nil)
    Task.detached {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}
