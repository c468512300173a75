import CaseSyncProtocol
import Foundation
import Hummingbird
import Synchronization

/// The endpoints that move files, outside the JSON pages: `GET`/`PUT /uploads/{sha256}` and
/// `GET /cases/{caseId}/blobs/{sha256}` (PROTOCOL.md §14).
extension SyncController {
    func addFileRoutes(to versioned: RouterGroup<CaseSyncRequestContext>) {
        let files = versioned.group().add(middleware: AuthenticationMiddleware(service: service, limiter: syncLimiter))
        files.get("/uploads/:sha256") { _, context in
            try json(try await service.uploadState(sha256: try context.parameters.require("sha256"), session: context.session!))
        }
        files.put("/uploads/:sha256") { request, context in
            let query = request.uri.queryParameters
            let (sha256, session) = (try context.parameters.require("sha256"), context.session!)
            let size = try Self.integer("size", in: query).map(Int64.init)
            let offset = try Self.integer("offset", in: query).map(Int64.init)
            let watch = UploadWatch()
            let body = WatchedBody(base: request.body, watch: watch)
            let state = try await watch.run(seconds: service.limits.requestTimeoutSeconds) {
                try await service.upload(sha256: sha256, size: size, offset: offset, body: body, session: session)
            }
            return try json(state)
        }
        files.get("/cases/:caseId/blobs/:sha256") { request, context in
            let (start, end) = try Self.byteRange(request.headers[.range])
            let download = try await service.download(
                caseId: try context.parameters.require("caseId"), sha256: try context.parameters.require("sha256"), from: start,
                through: end, session: context.session!)
            let size = download.attachment.size
            var headers: HTTPFields = [
                .contentType: download.attachment.contentType, .contentLength: String(download.range.count),
                .acceptRanges: "bytes", .eTag: "\"\(download.attachment.sha256)\"",
                // Never shown inline by a browser, never taken for another type.
                .contentDisposition: "attachment", .init("X-Content-Type-Options")!: "nosniff",
                .cacheControl: "private, max-age=31536000, immutable",
            ]
            let partial = download.range.count != size
            if partial { headers[.contentRange] = "bytes \(download.range.lowerBound)-\(download.range.upperBound - 1)/\(size)" }
            return Response(
                status: partial ? .partialContent : .ok, headers: headers, body: ResponseBody(asyncSequence: download.bytes))
        }
    }

    /// The one range of a `Range: bytes=first-[last]` header (nil, nil without one). Suffix ranges and
    /// several ranges are not served: the whole file is.
    static func byteRange(_ header: String?) throws -> (Int64?, Int64?) {
        guard let header else { return (nil, nil) }
        guard header.hasPrefix("bytes="), !header.contains(",") else { return (nil, nil) }
        let parts = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let first = Int64(parts[0]), first >= 0 else { return (nil, nil) }
        if parts[1].isEmpty { return (first, nil) }
        guard let last = Int64(parts[1]), last >= first else {
            throw ServiceError(.rangeNotSatisfiable, "a range's last byte comes after its first")
        }
        return (first, last)
    }
}

/// When an upload's body last brought bytes: an upload silent for the request timeout is ended with
/// `request_timeout` (a body stalled on a dead connection does not hold it open); what arrived is kept.
final class UploadWatch: Sendable {
    private let last = Mutex(ContinuousClock.now)

    func noteProgress() { last.withLock { $0 = .now } }

    /// Returns never; throws `request_timeout` once no bytes came for `seconds`.
    func watch(seconds: Int) async throws -> UploadState {
        while true {
            let silent = last.withLock { ContinuousClock.now - $0 }
            if silent >= .seconds(seconds) {
                throw ServiceError(
                    .requestTimeout, "no bytes of the upload arrived for \(seconds) s; continue it from the bytes the server holds",
                    details: ["requestTimeoutSeconds": String(seconds)])
            }
            try await Task.sleep(for: .seconds(seconds) - silent)
        }
    }

    /// Runs `upload`, ended when its body stays silent for `seconds`.
    func run(seconds: Int, _ upload: @escaping @Sendable () async throws -> UploadState) async throws -> UploadState {
        try await withThrowingTaskGroup(of: UploadState.self) { group in
            group.addTask { try await upload() }
            group.addTask { try await self.watch(seconds: seconds) }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// A body that tells its watch whenever bytes arrive.
struct WatchedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let watch: UploadWatch

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let watch: UploadWatch

        mutating func next() async throws -> ByteBuffer? {
            let piece = try await base.next()
            watch.noteProgress()
            return piece
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), watch: watch) }
}
