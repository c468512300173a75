import CaseSyncCore
import CaseSyncDomain
import CaseSyncProtocol
import CaseSyncServer
import CaseSyncTesting
import Foundation
import Testing

/// Files from the citizen's device to the officer's and back, over real HTTP: attached offline, sent
/// with the next sync, resumed after the connection drops, refused with a reason that reaches the user.
@Suite("Attachments from device to device")
struct AttachmentSyncTests {
    static let fields: [CaseField: String] = [
        .title: "Parking fine", .grounds: "Permit was valid", .decisionReference: "PT-1", .decisionDate: "2026-03-02",
    ]

    /// A file in a directory of its own (the caller removes the directory).
    static func file(_ bytes: [UInt8], name: String = "permit.png") throws -> (URL, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("casesync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return (url, directory)
    }

    @Test func attachedOfflineSentWithTheNextSyncAndSeenByTheOfficer() async throws {
        let server = try await TestServer(.sqlite)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let offline = GatedTransport(http)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let olga = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: http)
            let photo = AttachmentTests.png(120_000)
            let (file, directory) = try Self.file(photo)
            defer { try? FileManager.default.removeItem(at: directory) }

            // On the train: nothing reaches the server.
            offline.allowPulls(0)
            offline.allowFilePieces(0)
            let caseId = try anna.createObjection(authorityId: "gm0344", fields: Self.fields, submit: true)
            try anna.attach(caseId: caseId, file: file)
            try anna.attach(caseId: caseId, file: file, name: "permit again.png")
            #expect(try anna.attachments(caseId: caseId).map(\.state) == [.waitingToUpload, .waitingToUpload])
            await #expect(throws: ClientError.self) { try await anna.sync(transport: offline) }
            #expect(try await server.store.blobs.list().isEmpty)

            offline.allowPulls(nil)
            offline.allowFilePieces(nil)
            try await anna.sync(transport: offline)
            #expect(offline.uploadOffsets == [0], "the same file twice is sent once")
            #expect(try anna.attachments(caseId: caseId).map(\.state) == [.sent, .sent])
            #expect(try anna.attachments(caseId: caseId).allSatisfy(\.onDevice))

            try await olga.sync(transport: http)
            let seen = try olga.attachments(caseId: caseId)
            #expect(seen.map(\.record.name) == ["permit.png", "permit again.png"] && seen.allSatisfy { !$0.onDevice })
            let (record, copy) = try await olga.download(caseId: caseId, matching: "permit.png", transport: http)
            #expect(record.contentType == "image/png" && record.addedByName == "Anna")
            #expect(try Data(contentsOf: copy) == Data(photo))
            // Kept after the first time: no network needed.
            offline.allowFilePieces(0)
            #expect(try await olga.download(caseId: caseId, matching: "permit.png", transport: offline).1 == copy)

            // The officer sends a document back; the citizen sees it.
            let (report, reportDirectory) = try Self.file(Array("%PDF-1.7\nhearing report".utf8), name: "hearing-report.pdf")
            defer { try? FileManager.default.removeItem(at: reportDirectory) }
            try olga.attach(caseId: caseId, file: report)
            try await olga.sync(transport: http)
            try await anna.sync(transport: http)
            #expect(try anna.attachments(caseId: caseId).map(\.record.addedByRole) == [.citizen, .citizen, .officer])
        }
    }

    @Test(arguments: [1, 2, 4]) func aFileResumesWhereTheConnectionDropped(after pieces: Int) async throws {
        let server = try await TestServer(.sqlite)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let network = GatedTransport(http)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let olga = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: http)
            // Five pieces and a bit: a cut after 1, 2 or 4 of them.
            let photo = AttachmentTests.png(5 * CaseSyncClient.filePiece + 1_000, seed: UInt8(pieces))
            let (file, directory) = try Self.file(photo)
            defer { try? FileManager.default.removeItem(at: directory) }
            let caseId = try anna.createObjection(authorityId: "gm0344", fields: Self.fields, submit: true)
            try anna.attach(caseId: caseId, file: file)

            network.allowFilePieces(pieces)
            await #expect(throws: ClientError.self) { try await anna.sync(transport: network) }
            #expect(try anna.attachments(caseId: caseId).first?.state == .waitingToUpload, "a half-sent file is not shown as sent")
            network.allowFilePieces(nil)
            try await anna.sync(transport: network)
            let piece = Int64(CaseSyncClient.filePiece)
            #expect(network.uploadOffsets == (0..<6).map { Int64($0) * piece }, "each piece sent once: the upload went on from the cut")

            try await olga.sync(transport: http)
            network.allowFilePieces(pieces)
            await #expect(throws: ClientError.self) { _ = try await olga.download(caseId: caseId, matching: "permit.png", transport: network) }
            #expect(try olga.attachments(caseId: caseId).first?.onDevice == false, "a half-fetched file is not shown as present")
            network.allowFilePieces(nil)
            let (_, copy) = try await olga.download(caseId: caseId, matching: "permit.png", transport: network)
            #expect(try Data(contentsOf: copy) == Data(photo))
            #expect(network.downloadStarts == (0..<6).map { Int64($0) * piece }, "the download went on from the cut")
        }
    }

    /// A partial copy that cannot be one (longer than the file: a crash, a disk restored) is started
    /// again; the other files on the device stay.
    @Test func aPartialCopyLongerThanTheFileIsFetchedAgainAndNothingElseGoes() async throws {
        let server = try await TestServer(.sqlite)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let olga = try await server.client(.officer, name: "Olga", authority: "gm0344", transport: http)
            let (first, second) = (AttachmentTests.png(20_000, seed: 1), AttachmentTests.png(20_000, seed: 2))
            let (firstFile, firstDirectory) = try Self.file(first, name: "first.png")
            let (secondFile, secondDirectory) = try Self.file(second, name: "second.png")
            defer { for directory in [firstDirectory, secondDirectory] { try? FileManager.default.removeItem(at: directory) } }
            let caseId = try anna.createObjection(authorityId: "gm0344", fields: Self.fields, submit: true)
            try anna.attach(caseId: caseId, file: firstFile)
            try anna.attach(caseId: caseId, file: secondFile)
            try await anna.sync(transport: http)
            try await olga.sync(transport: http)
            let kept = try await olga.download(caseId: caseId, matching: "first.png", transport: http).1
            let files = olga.database.files
            try Data(repeating: 0x55, count: 30_000).write(to: files.directory.appendingPathComponent(AttachmentTests.sha256(second) + ".part"))
            let (_, copy) = try await olga.download(caseId: caseId, matching: "second.png", transport: http)
            #expect(try Data(contentsOf: copy) == Data(second))
            #expect(FileManager.default.fileExists(atPath: kept.path), "the other file stays")
        }
    }

    @Test func aRefusedFileReachesTheUserWithItsReasonAndStaysOnTheDevice() async throws {
        var limits = ProtocolLimits()
        limits.attachmentTypes = ["application/pdf"]
        let server = try await TestServer(.sqlite, limits: limits)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let (file, directory) = try Self.file(AttachmentTests.png(10_000))
            defer { try? FileManager.default.removeItem(at: directory) }
            let caseId = try anna.createObjection(authorityId: "gm0344", fields: Self.fields, submit: true)
            try anna.attach(caseId: caseId, file: file)
            try anna.sendMessage(caseId: caseId, body: "See the photo")
            let report = try await anna.sync(transport: http)
            #expect(report.rejected == 1 && report.applied == 3, "the edits behind it still apply")
            let refused = try #require(try anna.attachments(caseId: caseId).first)
            #expect(refused.state == .refused && refused.onDevice)
            #expect(refused.refusal?.contains("not one of the types a case may hold") == true)
            #expect(try anna.deadLetters().first?.code == .attachmentTypeNotAllowed)
        }
    }

    @Test func aDeletedDraftTakesItsFilesFromServerAndDevice() async throws {
        let server = try await TestServer(.sqlite)
        try await server.live { url in
            let http = HTTPTransport(baseURL: url)
            let anna = try await server.client(.citizen, name: "Anna", transport: http)
            let (file, directory) = try Self.file(AttachmentTests.png(10_000))
            defer { try? FileManager.default.removeItem(at: directory) }
            let caseId = try anna.createObjection(authorityId: "gm0344", fields: Self.fields, submit: false)
            try anna.attach(caseId: caseId, file: file)
            try await anna.sync(transport: http)
            #expect(try await server.store.blobs.list().count == 1)
            try anna.deleteDraft(caseId: caseId)
            try await anna.sync(transport: http)
            #expect(try await server.store.blobs.list().isEmpty)
            #expect(anna.database.files.file(AttachmentTests.sha256(AttachmentTests.png(10_000))) == nil)
        }
    }
}
