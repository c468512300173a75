import CaseSyncCore
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncServerSQLite
import CaseSyncTesting
import Crypto
import Foundation
import Testing

/// Files on cases over real HTTP: uploads that resume and are checked against their hash, downloads
/// scoped like the case, limits, dedupe, and files that go with their draft.
@Suite("Attachments over HTTP")
struct AttachmentTests {
    /// A PNG of `count` bytes (its signature, then bytes that vary with `seed`).
    static func png(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return signature + (0..<max(0, count - signature.count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }

    static func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

    static func attach(_ id: Int64, caseId: String, sha256: String, name: String = "permit.png", by clientId: String) -> Mutation {
        Mutation(
            mutationId: id, caseId: caseId, baseVersion: nil, hlc: HLCTimestamp(millis: 1_000 + id, counter: 0, node: clientId),
            operation: .attach(NewAttachment(id: testId("file\(id)", by: clientId), sha256: sha256, name: name)))
    }

    static func code(_ body: () async throws -> Void) async -> (Int, ErrorCode)? {
        do {
            try await body()
            return nil
        } catch let SyncTransportError.server(status, error) {
            return (status, error.code)
        } catch {
            return (0, .internalError)
        }
    }

    @Test(arguments: StoreBackend.underTest) func aFileResumesIsAttachedAndIsSeenByThoseWhoSeeItsCase(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let bert = try await server.device(.citizen, name: "Bert")
            let olga = try await server.device(.officer, name: "Olga", authority: "gm0344")
            let zeno = try await server.device(.officer, name: "Zeno", authority: "gm0193")
            let file = Self.png(300_000)
            let hash = Self.sha256(file)

            // Sent in three pieces, as a connection that drops twice would: each continues where the last stopped.
            #expect(try await http.uploadState(sha256: hash, token: anna.token) == nil)
            for (start, end) in [(0, 100_000), (100_000, 240_000), (240_000, 300_000)] {
                let state = try await http.upload(
                    sha256: hash, size: Int64(file.count), offset: Int64(start), bytes: Array(file[start..<end]), token: anna.token)
                #expect(state.received == Int64(end) && state.complete == (end == file.count))
                if end < file.count {
                    #expect(try await http.uploadState(sha256: hash, token: anna.token)?.received == Int64(end))
                }
            }
            let resent = await Self.code {
                _ = try await http.upload(sha256: hash, size: Int64(file.count), offset: 5, bytes: [1], token: bert.token)
            }
            #expect(resent?.1 == .uploadOffsetMismatch, "Bert holds nothing of it: he must start at 0")

            let caseId = testId("case", by: anna.clientId)
            let pushed = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [
                    .create(1, caseId: caseId), Self.attach(2, caseId: caseId, sha256: hash, by: anna.clientId), .submit(3, caseId: caseId),
                ]), token: anna.token)
            #expect(pushed.outcomes.map(\.status) == [.applied, .applied, .applied])

            let seen = try await http.pull(cursor: nil, limit: nil, token: olga.token).changes.compactMap { change -> AttachmentRecord? in
                if case .attachment(let attachment) = change.data { attachment } else { nil }
            }
            #expect(seen.map(\.sha256) == [hash] && seen.first?.contentType == "image/png" && seen.first?.size == Int64(file.count))
            #expect(seen.first?.addedByName == "Anna" && seen.first?.name == "permit.png")
            let tail = try await http.download(caseId: caseId, sha256: hash, range: 250_000..<300_000, token: olga.token)
            #expect(tail == Array(file[250_000...]), "a download resumes with a range")
            #expect(try await http.download(caseId: caseId, sha256: hash, range: 0..<300_000, token: anna.token) == file)

            // Knowing the hash and the case gives no access: 404 alike for the unseen case and one that does not exist.
            for outsider in [bert, zeno] {
                let refused = await Self.code { _ = try await http.download(caseId: caseId, sha256: hash, range: 0..<10, token: outsider.token) }
                #expect(refused?.0 == 404 && refused?.1 == .notFound)
            }
            let ghost = await Self.code {
                _ = try await http.download(caseId: testId("ghost", by: anna.clientId), sha256: hash, range: 0..<10, token: anna.token)
            }
            #expect(ghost?.0 == 404)
            // Bert cannot attach it without sending it: the blob is held, but not by his account.
            let bertsCase = testId("bert", by: bert.clientId)
            let stolen = try await http.push(
                PushRequest(stamping: bert.clientId, mutations: [
                    .create(1, caseId: bertsCase), Self.attach(2, caseId: bertsCase, sha256: hash, by: bert.clientId),
                ]), token: bert.token)
            #expect(stolen.outcomes[1].status == .rejected && stolen.outcomes[1].code == .blobMissing)
        }
    }

    @Test(arguments: StoreBackend.underTest) func aCorruptedByteIsRefusedAndNothingOfItKept(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            var file = Self.png(50_000)
            let hash = Self.sha256(file)
            file[30_000] ^= 0x01
            let refused = await Self.code {
                _ = try await http.upload(sha256: hash, size: Int64(file.count), offset: 0, bytes: file, token: anna.token)
            }
            #expect(refused?.0 == 422 && refused?.1 == .blobHashMismatch)
            #expect(try await http.uploadState(sha256: hash, token: anna.token) == nil, "nothing of it is kept")
            #expect(try await server.store.blobs.list().isEmpty)
            let caseId = testId("case", by: anna.clientId)
            let pushed = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: caseId), Self.attach(2, caseId: caseId, sha256: hash, by: anna.clientId)]),
                token: anna.token)
            #expect(pushed.outcomes[1].code == .blobMissing)
        }
    }

    @Test(arguments: StoreBackend.underTest) func limitsAreAnnouncedAndEnforced(backend: StoreBackend) async throws {
        var limits = ProtocolLimits()
        limits.maxAttachmentBytes = 40_000
        limits.maxCaseAttachmentBytes = 60_000
        limits.attachmentTypes = ["image/png"]
        let server = try await TestServer(backend, limits: limits)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let announced = try await http.discover().limits
            #expect(announced.maxAttachmentBytes == 40_000 && announced.maxCaseAttachmentBytes == 60_000 && announced.attachmentTypes == ["image/png"])
            let anna = try await server.device(.citizen, name: "Anna")
            let large = Self.png(40_001)
            let tooLarge = await Self.code {
                _ = try await http.upload(sha256: Self.sha256(large), size: Int64(large.count), offset: 0, bytes: large, token: anna.token)
            }
            #expect(tooLarge?.0 == 413 && tooLarge?.1 == .attachmentTooLarge)
            // A PDF named .png is a PDF: the type is found by the content.
            let pdf = Array("%PDF-1.7\n".utf8) + [UInt8](repeating: 0x20, count: 1_000)
            let wrongType = await Self.code {
                _ = try await http.upload(sha256: Self.sha256(pdf), size: Int64(pdf.count), offset: 0, bytes: pdf, token: anna.token)
            }
            #expect(wrongType?.0 == 415 && wrongType?.1 == .attachmentTypeNotAllowed)

            let caseId = testId("case", by: anna.clientId)
            var mutations: [Mutation] = [.create(1, caseId: caseId)]
            for seed in UInt8(1)...2 {
                let file = Self.png(35_000, seed: seed)
                let state = try await http.upload(sha256: Self.sha256(file), size: Int64(file.count), offset: 0, bytes: file, token: anna.token)
                #expect(state.complete)
                mutations.append(Self.attach(Int64(mutations.count + 1), caseId: caseId, sha256: Self.sha256(file), by: anna.clientId))
            }
            let pushed = try await http.push(PushRequest(stamping: anna.clientId, mutations: mutations), token: anna.token)
            #expect(pushed.outcomes.map(\.status) == [.applied, .applied, .rejected], "the second file would take the case past 60,000 bytes")
            #expect(pushed.outcomes[2].code == .attachmentTooLarge)
        }
    }

    @Test(arguments: StoreBackend.underTest) func theSameFileIsStoredOnceAndADeletedDraftTakesItsFiles(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let bert = try await server.device(.citizen, name: "Bert")
            let shared = Self.png(20_000)
            let own = Self.png(20_000, seed: 9)
            for (device, file) in [(anna, shared), (bert, shared), (anna, own)] {
                #expect(try await http.upload(sha256: Self.sha256(file), size: Int64(file.count), offset: 0, bytes: file, token: device.token).complete)
            }
            #expect(Set(try await server.store.blobs.list()) == [Self.sha256(shared), Self.sha256(own)], "stored once")
            let draft = testId("draft", by: anna.clientId)
            let filed = testId("filed", by: bert.clientId)
            _ = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [
                    .create(1, caseId: draft), Self.attach(2, caseId: draft, sha256: Self.sha256(shared), by: anna.clientId),
                    Self.attach(3, caseId: draft, sha256: Self.sha256(own), by: anna.clientId),
                ]), token: anna.token)
            _ = try await http.push(
                PushRequest(stamping: bert.clientId, mutations: [
                    .create(1, caseId: filed), Self.attach(2, caseId: filed, sha256: Self.sha256(shared), by: bert.clientId),
                ]), token: bert.token)
            let deleted = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [
                    Mutation(mutationId: 4, caseId: draft, baseVersion: 1, hlc: HLCTimestamp(millis: 2_000, counter: 0, node: anna.clientId), operation: .delete)
                ]), token: anna.token)
            #expect(deleted.outcomes.first?.status == .applied)
            #expect(try await server.store.blobs.list() == [Self.sha256(shared)], "Anna's own file went with her draft; Bert's case still holds the shared one")
            #expect(try await http.uploadState(sha256: Self.sha256(own), token: anna.token) == nil)
        }
    }

    @Test(arguments: StoreBackend.underTest) func erasureDisposalAndExpiryReachTheFiles(backend: StoreBackend) async throws {
        let server = try await TestServer(backend)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let bert = try await server.device(.citizen, name: "Bert")
            let carl = try await server.device(.citizen, name: "Carl")
            let (evidence, unattached, receipt, forgotten) = (Self.png(9_000, seed: 1), Self.png(9_000, seed: 2), Self.png(9_000, seed: 3), Self.png(9_000, seed: 4))
            for (device, file) in [(anna, evidence), (anna, unattached), (bert, receipt), (carl, forgotten)] {
                #expect(try await http.upload(sha256: Self.sha256(file), size: Int64(file.count), offset: 0, bytes: file, token: device.token).complete)
            }
            let annasCase = testId("anna", by: anna.clientId)
            let bertsCase = testId("bert", by: bert.clientId)
            _ = try await http.push(
                PushRequest(stamping: anna.clientId, mutations: [
                    .create(1, caseId: annasCase), Self.attach(2, caseId: annasCase, sha256: Self.sha256(evidence), by: anna.clientId),
                    .submit(3, caseId: annasCase),
                ]), token: anna.token)
            _ = try await http.push(
                PushRequest(stamping: bert.clientId, mutations: [
                    .create(1, caseId: bertsCase), Self.attach(2, caseId: bertsCase, sha256: Self.sha256(receipt), by: bert.clientId),
                    .submit(3, caseId: bertsCase),
                    Mutation(
                        mutationId: 4, caseId: bertsCase, baseVersion: 2, hlc: HLCTimestamp(millis: 3_000, counter: 0, node: bert.clientId),
                        operation: .transition(StatusTransition(to: .withdrawn))),
                ]), token: bert.token)
            #expect(try await server.store.blobs.list().count == 4)

            // Erasure: Anna's case's file and her upload never attached.
            _ = try await server.store.erase(accountId: anna.account.id)
            #expect(Set(try await server.store.blobs.list()) == [Self.sha256(receipt), Self.sha256(forgotten)])
            // Disposal of Bert's withdrawn case, two days on.
            server.determinism.advance(millis: 2 * 86_400_000)
            #expect(try await server.store.dispose(closedCaseDays: 1).cases == 1)
            #expect(try await server.store.blobs.list() == [Self.sha256(forgotten)])
            // Carl's upload, never attached, expires after a week.
            server.determinism.advance(millis: 8 * 86_400_000)
            let sweep = try await BlobSweep(store: server.store).collect(now: server.determinism.now())
            #expect(sweep.uploadsExpired == 1 && sweep.blobsDeleted == 1, "\(sweep)")
            #expect(try await server.store.blobs.list().isEmpty)
        }
    }

    /// Uploads crafted by hand: every one refused with a stable code, nothing kept that should not be.
    @Test func handCraftedUploadsAreRefused() async throws {
        let server = try TestServer()
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let file = Self.png(1_000)
            let hash = Self.sha256(file)
            func refusal(size: Int64, offset: Int64, bytes: [UInt8], sha256: String = hash) async -> (Int, ErrorCode)? {
                await Self.code { _ = try await http.upload(sha256: sha256, size: size, offset: offset, bytes: bytes, token: anna.token) }
            }
            // More bytes than the size declared: what fits is kept, the rest refused; the file is not whole.
            #expect(await refusal(size: 500, offset: 0, bytes: file)?.1 == .payloadTooLarge)
            #expect(try await http.uploadState(sha256: hash, token: anna.token)?.complete == false)
            #expect(await refusal(size: 1_000, offset: 0, bytes: file)?.1 == .invalidRequest, "the size an upload began with stays")
            #expect(await refusal(size: 500, offset: -1, bytes: [1])?.1 == .invalidRequest)
            #expect(await refusal(size: 0, offset: 0, bytes: [])?.1 == .invalidRequest)
            #expect(await refusal(size: 10, offset: 0, bytes: [1], sha256: "../../etc/passwd")?.0 == 404, "not a route at all")
            #expect(await refusal(size: 10, offset: 0, bytes: [1], sha256: String(hash.uppercased()))?.1 == .invalidRequest)
            // An attach whose name is a path is refused by the reader, before any rule.
            let caseId = testId("case", by: anna.clientId)
            var attach = Self.attach(2, caseId: caseId, sha256: hash, name: "x", by: anna.clientId)
            attach.operation = .attach(NewAttachment(id: testId("f", by: anna.clientId), sha256: hash, name: "../../.bashrc"))
            let refused = await Self.code {
                _ = try await http.push(PushRequest(stamping: anna.clientId, mutations: [.create(1, caseId: caseId), attach]), token: anna.token)
            }
            #expect(refused?.1 == .invalidRequest)
            #expect(try await server.store.blobs.list().isEmpty)
        }
    }

    /// A body that stalls (a dead train connection that never closes) ends the upload with 408 after the
    /// request timeout; what arrived is kept, and the upload continues from it.
    @Test func aStalledUploadEndsAndKeepsWhatArrived() async throws {
        var limits = ProtocolLimits()
        limits.requestTimeoutSeconds = 1
        let server = try TestServer(limits: limits)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let file = Self.png(50_000)
            let hash = Self.sha256(file)
            let connection = try RawConnection(port: url.port!)
            connection.send(
                "PUT /uploads/\(hash)?size=\(file.count)&offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nCaseSync-Protocol-Version: 1\r\n"
                    + "Authorization: Bearer \(anna.token)\r\nContent-Length: \(file.count)\r\n\r\n")
            connection.send(bytes: Array(file[..<20_000]))
            let answer = await connection.readToEnd()
            #expect(answer?.contains("408") == true && answer?.contains("request_timeout") == true, "answered, not held open")
            #expect(try await http.uploadState(sha256: hash, token: anna.token)?.received == 20_000)
            let state = try await http.upload(sha256: hash, size: Int64(file.count), offset: 20_000, bytes: Array(file[20_000...]), token: anna.token)
            #expect(state.complete)
        }
    }

    /// A connection that drops partway through a PUT: what arrived is kept, and the upload continues from it.
    @Test func anUploadCutOffKeepsWhatArrivedOnDisk() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let determinism = Determinism()
        let store = try SQLiteSyncStore(path: directory.appendingPathComponent("casesync.sqlite").path, environment: determinism.server, logger: quietLogger)
        try store.seedAuthorities(starterAuthorities)
        let server = TestServer(store: store, determinism: determinism)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.device(.citizen, name: "Anna")
            let file = Self.png(200_000)
            let hash = Self.sha256(file)
            for cut in [70_000, 160_000] {
                let held = try await http.uploadState(sha256: hash, token: anna.token)?.received ?? 0
                let connection = try RawConnection(port: url.port!)
                connection.send(
                    "PUT /uploads/\(hash)?size=\(file.count)&offset=\(held) HTTP/1.1\r\nHost: 127.0.0.1\r\nCaseSync-Protocol-Version: 1\r\n"
                        + "Authorization: Bearer \(anna.token)\r\nContent-Length: \(file.count - Int(held))\r\n\r\n")
                connection.send(bytes: Array(file[Int(held)..<cut]))
                connection.shutdown()
                var received: Int64 = 0
                for _ in 0..<200 where received != Int64(cut) {
                    try await Task.sleep(for: .milliseconds(25))
                    received = try await http.uploadState(sha256: hash, token: anna.token)?.received ?? 0
                }
                #expect(received == Int64(cut), "the bytes before the cut at \(cut) are kept")
            }
            let state = try await http.upload(
                sha256: hash, size: Int64(file.count), offset: 160_000, bytes: Array(file[160_000...]), token: anna.token)
            #expect(state.complete && state.contentType == "image/png")
            #expect(try await server.store.blobs.size(of: hash) == Int64(file.count))
        }
    }
}
