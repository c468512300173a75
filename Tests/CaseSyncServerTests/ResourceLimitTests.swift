import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerSQLite
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Attack 7 of the hostile-input issue, over real HTTP on 127.0.0.1: silent, slow and numerous
/// connections, request floods, oversized pages and unbounded storage. Each limit is small here so
/// the tests stay short; every wait is bounded.
@Suite("Resource limits over HTTP")
struct ResourceLimitTests {
    /// A server with small limits; its clock stands still unless `stepMillis` moves it each reading.
    static func server(stepMillis: Int64 = 0, _ change: (inout ProtocolLimits) -> Void) throws -> TestServer {
        var limits = ProtocolLimits()
        change(&limits)
        return try TestServer(limits: limits, determinism: Determinism(stepMillis: stepMillis))
    }

    static let health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    @Test func silentConnectionsAndHeadersThatNeverEndAreClosed() async throws {
        let server = try Self.server { $0.idleTimeoutSeconds = 1 }
        try await server.live { url in
            let start = ContinuousClock.now
            let silent = try RawConnection(port: url.port!)
            #expect(await silent.readToEnd() == "", "closed without an answer")
            // Header lines trickling in for 3 s: the head never completes, so the idle timeout still applies.
            let slow = try RawConnection(port: url.port!)
            slow.send("GET /health HTTP/1.1\r\n")
            for index in 0..<30 {
                try await Task.sleep(for: .milliseconds(100))
                guard slow.send("X-Filler-\(index): 1\r\n") else { break }
            }
            #expect(await slow.readToEnd() == "")
            #expect(ContinuousClock.now - start < .seconds(15))
            // Others are served as before.
            #expect(try RawConnection(port: url.port!).send(Self.health))
            let answer = try RawConnection(port: url.port!)
            answer.send(Self.health)
            #expect(await answer.readToEnd()?.hasPrefix("HTTP/1.1 200") == true)
        }
    }

    @Test func aBodyThatTricklesInIsAnsweredRequestTimeout() async throws {
        let server = try Self.server { $0.requestTimeoutSeconds = 1 }
        try await server.live { url in
            let anna = try await server.device(.citizen, name: "Anna")
            let body = String(decoding: PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: testId("a", by: anna.clientId))]).jsonBytes, as: UTF8.self)
            let connection = try RawConnection(port: url.port!)
            connection.send(
                "POST /sync/push HTTP/1.1\r\nHost: 127.0.0.1\r\nCaseSync-Protocol-Version: 1\r\nAuthorization: Bearer \(anna.token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            for byte in body.prefix(30) {
                try await Task.sleep(for: .milliseconds(100))
                guard connection.send(String(byte)) else { break }
            }
            let answer = try #require(await connection.readToEnd())
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer.prefix(80))")
            #expect(answer.contains("request_timeout"))
            // Nothing of the slow push was applied.
            let page = try await HTTPTransport(baseURL: url).pullPage(cursor: nil, limit: nil, token: anna.token)
            #expect(page.changes.isEmpty)
        }
    }

    @Test func connectionsAreCappedPerAddressAndInAll() async throws {
        let server = try Self.server {
            $0.maxConnectionsPerAddress = 3
            $0.maxConnections = 1_000
        }
        try await server.live { url in
            let held = try (0..<3).map { _ in try RawConnection(port: url.port!) }
            try await Task.sleep(for: .milliseconds(200))
            let extra = try RawConnection(port: url.port!)
            #expect(await extra.readToEnd() == "", "the fourth connection from one address is closed at once")
            // The three it holds still work.
            held[0].send(Self.health)
            #expect(await held[0].readToEnd()?.hasPrefix("HTTP/1.1 200") == true)
        }
        let small = try Self.server { $0.maxConnections = 2 }
        try await small.live { url in
            var held: [RawConnection] = try (0..<2).map { _ in try RawConnection(port: url.port!) }
            try await Task.sleep(for: .milliseconds(200))
            // A third connection waits in the listen queue: not served while the server is full ...
            let waiting = try RawConnection(port: url.port!, timeout: 1)
            waiting.send(Self.health)
            #expect(await waiting.readToEnd() == nil)
            // ... and served as soon as a connection closes.
            held.removeFirst()
            var answer: String?
            for _ in 0..<10 where answer == nil { answer = await waiting.readToEnd() }
            #expect(answer?.hasPrefix("HTTP/1.1 200") == true)
            _ = held
        }
    }

    @Test func loginAttemptsAndSyncRequestsAreRateLimited() async throws {
        let server = try Self.server {
            $0.redeemAttemptsPerMinute = 3
            $0.syncRequestsPerMinute = 4
        }
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            for _ in 0..<3 {
                await #expect { try await http.redeem(RedeemRequest(code: "WRONG-CODE-0000", deviceName: nil)) } throws: {
                    guard case .server(401, _) = $0 as? SyncTransportError else { return false }
                    return true
                }
            }
            // The fourth attempt is refused before the code is looked at, with when to try again.
            let invitation = try await server.store.invite(role: .citizen, authorityId: nil, displayName: "Anna", validFor: 7)
            var request = URLRequest(url: url.appendingPathComponent("auth/redeem"))
            request.httpMethod = "POST"
            request.setValue("1", forHTTPHeaderField: ProtocolVersion.headerName)
            request.httpBody = try WireCoding.encoder().encode(RedeemRequest(code: invitation.code, deviceName: nil))
            let (data, response) = try await URLSession.shared.data(for: request)
            let http429 = try #require(response as? HTTPURLResponse)
            #expect(http429.statusCode == 429 && http429.value(forHTTPHeaderField: "Retry-After") == "20")
            let refusal = try WireCoding.decode(ErrorEnvelope.self, from: data).error
            #expect(refusal.code == .rateLimited && refusal.details?["retryAfterSeconds"] == "20")

            let anna = try await server.device(.citizen, name: "Anna")
            let bert = try await server.device(.citizen, name: "Bert")
            for _ in 0..<4 { _ = try await http.pullPage(cursor: nil, limit: nil, token: anna.token) }
            await #expect { try await http.pullPage(cursor: nil, limit: nil, token: anna.token) } throws: {
                guard case .server(429, let body) = $0 as? SyncTransportError else { return false }
                return body.code == .rateLimited && body.details?["retryAfterSeconds"] == "15"
            }
            // Another device has its own allowance.
            _ = try await http.pullPage(cursor: nil, limit: nil, token: bert.token)
        }
    }

    @Test func pullPagesStopAtTheirByteBudget() async throws {
        let budget = 64_000
        let server = try Self.server { $0.maxPageBytes = budget }
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let grounds = String(repeating: "é", count: 10_000)  // 20,000 bytes
            let ids = (1...12).map { testId("case-\($0)", by: anna.clientId) }
            let mutations = ids.enumerated().map { Mutation.create(Int64($0.offset + 1), caseId: $0.element, grounds: grounds) }
            let pushed = try await http.push(PushRequest(stamping: anna.clientId, mutations: mutations), token: anna.token)
            #expect(pushed.outcomes.allSatisfy { $0.status == .applied })
            var cursor: String?
            var seen: [String] = []
            var pages = 0
            while pages < 50 {
                let page = try await http.pullPage(cursor: cursor, limit: 1_000, token: anna.token)
                pages += 1
                let bytes = page.changes.reduce(0) { $0 + ($1.data?.count ?? 0) }
                #expect(bytes <= budget || page.changes.count == 1, "page \(pages) holds \(bytes) bytes")
                seen += page.changes.filter { $0.type == .case }.map(\.id)
                cursor = page.cursor
                if !page.hasMore {
                    #expect(page.checksum != nil)
                    break
                }
            }
            #expect(pages >= 4, "12 cases of 20 KB cannot fit in fewer pages of 64 KB")
            #expect(seen.sorted() == ids.sorted(), "every case once")
        }
    }

    @Test func aCitizensStorageIsBoundedAndDeletingADraftFreesItsBytes() async throws {
        let server = try Self.server(stepMillis: 1_000) { $0.maxAccountBytes = 100_000 }
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let bert = try await server.device(.citizen, name: "Bert")
            let grounds = String(repeating: "x", count: 30_000)
            let ids = (1...5).map { testId("case-\($0)", by: anna.clientId) }
            let mutations = ids.enumerated().map { Mutation.create(Int64($0.offset + 1), caseId: $0.element, grounds: grounds) }
            let first = try await http.push(PushRequest(stamping: anna.clientId, mutations: mutations), token: anna.token)
            #expect(first.outcomes.map(\.status) == [.applied, .applied, .applied, .rejected, .rejected])
            #expect(first.outcomes.last?.code == .storageFull)
            // Bert's storage is his own.
            let other = try await http.push(
                PushRequest(stamping: bert.clientId, mutations: [.create(1, caseId: testId("b", by: bert.clientId), grounds: grounds)]),
                token: bert.token)
            #expect(other.outcomes.first?.status == .applied)
            // A deleted draft's tombstones keep no content: its bytes are free once the deletion is applied
            // (the change behind it in the same push was judged against the count before it).
            let delete = Mutation(
                mutationId: 6, caseId: ids[0], baseVersion: 1, hlc: HLCTimestamp(millis: 2_000, counter: 0, node: "t"), operation: .delete)
            let deleted = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [delete, .create(7, caseId: ids[3], grounds: grounds)]), token: anna.token)
            #expect(deleted.outcomes.map(\.status) == [.applied, .rejected])
            let again = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [.create(8, caseId: ids[3], grounds: grounds)]), token: anna.token)
            #expect(again.outcomes.map(\.status) == [.applied])
            #expect(try await server.store.storageCountMismatches().isEmpty)
        }
    }
}
