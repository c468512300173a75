import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerPostgres
import CaseSyncTesting
import Foundation
import Synchronization
import Testing

/// Two server instances over one PostgreSQL database, pushed to at once with random waits inside the
/// push transactions (after their reads, and after their changes took their places), while devices
/// pull continuously from either instance.
@Suite("Two instances on PostgreSQL", .enabled(if: StoreBackend.underTest.contains(.postgres)))
struct ConcurrentInstancesTests {
    /// Two stores (two pools, as two server processes have) on one fresh schema.
    struct Instances {
        let services: [SyncService]
        let lifetimes: [StoreLifetime]

        /// `hearingMillis`: how late each instance hears of changes (0: as soon as PostgreSQL tells it).
        init(waitMillis: ClosedRange<Int>, hearingMillis: [Int] = [0, 0]) async throws {
            let hearing: [(@Sendable (String) async -> Void)?] = hearingMillis.map { late in
                guard late > 0 else { return nil }
                return { _ in try? await Task.sleep(for: .milliseconds(late)) }
            }
            try await self.init(waitMillis: waitMillis, hearing: hearing)
        }

        /// `hearing`: what each instance does before it takes in a notification (see ServerEnvironment).
        init(waitMillis: ClosedRange<Int>, hearing: [(@Sendable (String) async -> Void)?]) async throws {
            let url = try await TestPostgres.freshSchema()
            var services: [SyncService] = []
            var lifetimes: [StoreLifetime] = []
            for index in 0..<2 {
                var environment = ServerEnvironment.live
                environment.insidePush = { _ in try? await Task.sleep(for: .milliseconds(Int.random(in: waitMillis))) }
                if let hearing = hearing[index] { environment.hearing = hearing }
                let store = try PostgresSyncStore(url: url, environment: environment, maxConnections: 8, logger: quietLogger)
                lifetimes.append(StoreLifetime(Task { try? await store.run() }))
                try await store.migrate()
                services.append(SyncService(store: store, limits: .init()))
            }
            try await services[0].store.addAuthorities(starterAuthorities)
            self.services = services
            self.lifetimes = lifetimes
        }

        func device(_ role: ActorRole, name: String, authority: String? = nil) async throws -> RedeemResponse {
            let invitation = try await services[0].store.invite(role: role, authorityId: authority, displayName: name, validFor: 1)
            return try await services[1].store.redeem(RedeemRequest(code: invitation.code, deviceName: name))
        }

        func transport(_ index: Int) -> InProcessTransport { InProcessTransport(service: services[index % 2]) }
    }

    /// What a device holds after pulling: each live record's version, and the cursor.
    struct Pulled {
        var records: [String: (type: RecordType, version: Int64)] = [:]
        var cursor: String?
        var checksum: StateChecksum?

        /// Pulls until the instance has nothing more; returns how many changes arrived.
        @discardableResult
        mutating func pull(_ transport: InProcessTransport, token: String) async throws -> Int {
            var received = 0
            while true {
                let page = try await transport.pull(cursor: cursor, limit: 50, token: token)
                for change in page.changes {
                    if change.deleted { records[change.id] = nil } else { records[change.id] = (change.type, change.version) }
                }
                received += page.changes.count
                cursor = page.cursor
                if !page.hasMore {
                    checksum = page.checksum
                    return received
                }
            }
        }

        var computedChecksum: StateChecksum {
            var accumulator = ChecksumAccumulator()
            for (id, record) in records { accumulator.add(type: record.type, id: id, version: record.version) }
            return accumulator.checksum
        }

        var versions: [String: Int64] { records.mapValues(\.version) }
    }

    @Test func aPullerOnEitherInstanceMissesNoChangeWhilePushesCommitInAnyOrder() async throws {
        let instances = try await Instances(waitMillis: 0...15)
        let citizens = try await (0..<6).asyncMap { try await instances.device(.citizen, name: "Citizen \($0)") }
        let officer = try await instances.device(.officer, name: "Officer", authority: "gm0344")
        let acknowledged = Acknowledged()
        let pushing = Flag()
        let deadline = ContinuousClock.now + .seconds(120)

        // The officer pulls without pause from either instance while the citizens push.
        async let watched: Pulled = {
            var pulled = Pulled()
            var round = 0
            while pushing.isSet, ContinuousClock.now < deadline {
                try await pulled.pull(instances.transport(round), token: officer.token)
                round += 1
            }
            return pulled
        }()

        // Each citizen: 8 pushes, each filing a case with its submission and a message on the case
        // before, to a random instance; one push in four is sent to both instances at once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, citizen) in citizens.enumerated() {
                group.addTask {
                    var generator = SeededGenerator(state: UInt64(index + 1))
                    var previous: String?
                    for push in 0..<8 where ContinuousClock.now < deadline {
                        let first = Int64(push * 3 + 1)
                        let caseId = CreatedId.make(from: UUID().uuidString.lowercased(), clientId: citizen.clientId)
                        var mutations: [Mutation] = [.create(first, caseId: caseId), .submit(first + 1, caseId: caseId)]
                        if let previous {
                            mutations.append(Mutation(
                                mutationId: first + 2, caseId: previous, baseVersion: 2,
                                hlc: HLCTimestamp(millis: 2_000 + first, counter: 0, node: "t"),
                                operation: .addMessage(
                                    id: CreatedId.make(from: UUID().uuidString.lowercased(), clientId: citizen.clientId), body: "Any news?")))
                        } else {
                            mutations.append(Mutation(
                                mutationId: first + 2, caseId: caseId, baseVersion: 2, hlc: HLCTimestamp(millis: 2_000 + first, counter: 0, node: "t"),
                                operation: .edit([FieldChange(field: "contactEmail", from: nil, to: "c\(index)@example.org")])))
                        }
                        let request = PushRequest(stamping: citizen.clientId, mutations: mutations)
                        let instance = Int.random(in: 0...1, using: &generator)
                        let response: PushResponse
                        if Int.random(in: 0..<4, using: &generator) == 0 {
                            async let one = instances.transport(instance).push(request, token: citizen.token)
                            async let other = instances.transport(instance + 1).push(request, token: citizen.token)
                            let (a, b) = try await (one, other)
                            #expect(a == b, "the same push on two instances: one application, the same answer")
                            response = a
                        } else {
                            response = try await instances.transport(instance).push(request, token: citizen.token)
                        }
                        acknowledged.add(zip(request.mutations, response.outcomes).map { ($0, $1) })
                        previous = caseId
                    }
                }
            }
            try await group.waitForAll()
        }
        pushing.clear()
        var officerView = try await watched
        #expect(ContinuousClock.now < deadline, "the run stayed inside its time bound")

        // A last incremental pull, then the same scope pulled from scratch on the other instance.
        try await officerView.pull(instances.transport(0), token: officer.token)
        var fresh = Pulled()
        try await fresh.pull(instances.transport(1), token: officer.token)
        let missed = fresh.versions.filter { officerView.versions[$0.key] != $0.value }
        let extra = officerView.versions.keys.filter { fresh.versions[$0] == nil }
        #expect(missed.isEmpty && extra.isEmpty, "the continuous puller missed \(missed.count) changes and holds \(extra.count) the server does not")
        #expect(officerView.computedChecksum == officerView.checksum)
        #expect(fresh.computedChecksum == fresh.checksum)

        // Zero false acknowledgements: every case and message acknowledged is in the final state, and
        // no two acknowledged changes of a case claim the same version.
        let outcomes = acknowledged.all
        #expect(outcomes.count == citizens.count * 8 * 3)
        #expect(outcomes.allSatisfy { $0.outcome.status == .applied }, "\(outcomes.filter { $0.outcome.status != .applied })")
        for (mutation, _) in outcomes {
            switch mutation.operation {
            case .create: #expect(fresh.records[mutation.caseId]?.type == .case)
            case .addMessage(let id, _): #expect(fresh.records[id]?.type == .message)
            default: break
            }
        }
        let claimed = Dictionary(grouping: outcomes.filter { if case .addMessage = $0.mutation.operation { false } else { true } }) {
            "\($0.mutation.caseId)@\($0.outcome.version ?? -1)"
        }
        #expect(claimed.values.allSatisfy { $0.count == 1 })
        for (caseId, version) in Dictionary(outcomes.map { ($0.mutation.caseId, $0.outcome.version ?? 0) }, uniquingKeysWith: max) {
            #expect(fresh.versions[caseId] == version, "the final version of \(caseId) is its last acknowledged one")
        }
        try await #expect(instances.services[0].store.storageCountMismatches().isEmpty)
    }

    @Test func conflictingBatchesOnTwoInstancesAreEachAppliedOnceOverTheOther() async throws {
        let instances = try await Instances(waitMillis: 0...10)
        let phone = try await instances.device(.citizen, name: "Anna")
        let invitation = try await instances.services[0].store.inviteDevice(accountId: phone.account.id, validFor: 1)
        let laptop = try await instances.services[1].store.redeem(RedeemRequest(code: invitation.code, deviceName: "laptop"))
        let caseId = CreatedId.make(from: UUID().uuidString.lowercased(), clientId: phone.clientId)
        _ = try await instances.transport(0).push(
            PushRequest(stamping: phone.clientId, mutations: [.create(1, caseId: caseId)]), token: phone.token)
        let acknowledged = Acknowledged()
        // Both devices edit the same fields of the same draft, all from version 1, in batches of three,
        // each through its own instance, at the same time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, device) in [phone, laptop].enumerated() {
                group.addTask {
                    let start: Int64 = index == 0 ? 2 : 1
                    for batch in 0..<8 {
                        let mutations = (0..<3).map { step -> Mutation in
                            let id = start + Int64(batch * 3 + step)
                            return Mutation(
                                mutationId: id, caseId: caseId, baseVersion: 1,
                                hlc: HLCTimestamp(millis: 3_000 + id, counter: 0, node: "t"),
                                operation: .edit([
                                    step == 0
                                        ? FieldChange(field: "title", from: "Parking fine", to: "\(device.clientId) \(id)")
                                        : FieldChange(field: "grounds", from: "My permit was valid", to: "\(device.clientId) \(id)"),
                                ]))
                        }
                        let request = PushRequest(stamping: device.clientId, mutations: mutations)
                        let response = try await instances.transport(index).push(request, token: device.token)
                        acknowledged.add(zip(request.mutations, response.outcomes).map { ($0, $1) })
                    }
                }
            }
            try await group.waitForAll()
        }
        var state = Pulled()
        try await state.pull(instances.transport(1), token: phone.token)
        #expect(state.computedChecksum == state.checksum, "the scope's checksum matches its records: no repair would fire")
        let outcomes = acknowledged.all
        #expect(outcomes.count == 48 && outcomes.allSatisfy { $0.outcome.status != .rejected }, "every edit applied or merged")
        #expect(outcomes.contains { $0.outcome.status == .merged }, "the devices did edit over each other")
        // Each acknowledged change that changed the case made its own version, and the last of them is
        // the case's: none was answered and then lost.
        let changing = outcomes.filter { $0.outcome.status == .applied || ($0.outcome.conflicts ?? []).contains { $0.winner != .server } }
        let versions = changing.compactMap(\.outcome.version)
        #expect(versions.count == changing.count && Set(versions).count == versions.count, "\(versions.sorted())")
        #expect(state.versions[caseId] == versions.max())
        try await #expect(instances.services[1].store.storageCountMismatches().isEmpty)
    }
}

/// The mutations the instances acknowledged, with their outcomes, from every pusher.
final class Acknowledged: Sendable {
    private let list = Mutex<[(mutation: Mutation, outcome: MutationOutcome)]>([])
    func add(_ entries: [(Mutation, MutationOutcome)]) { list.withLock { $0 += entries.map { (mutation: $0.0, outcome: $0.1) } } }
    var all: [(mutation: Mutation, outcome: MutationOutcome)] { list.withLock { $0 } }
}

/// Set until the pushers are done.
final class Flag: Sendable {
    private let value = Atomic(true)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func clear() { value.store(false, ordering: .releasing) }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
