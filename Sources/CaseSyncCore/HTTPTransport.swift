import CaseSyncProtocol
import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The protocol over HTTP with URLSession (FoundationNetworking on Linux).
public struct HTTPTransport: SyncTransport {
    public let baseURL: URL
    let session: URLSession
    let timeout: TimeInterval
    /// Set when the server refused a gzipped body (`415 unsupported_encoding`): later pushes go plain.
    let plainBodies = PlainBodies()

    final class PlainBodies: Sendable {
        let set = Atomic(false)
    }

    /// Push bodies of this size or more go gzipped (PROTOCOL.md §2, "Compression").
    public static let compressFrom = 1_024

    /// `baseURL` is the server's root, e.g. `http://127.0.0.1:8080`.
    public init(baseURL: URL, timeout: TimeInterval = 30) {
        self.baseURL = baseURL
        self.timeout = timeout
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        self.session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    /// Parses a server URL typed by a person; nil when it is not an http(s) URL.
    public static func serverURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              url.host != nil else { return nil }
        return url
    }

    /// Whether the URL sends tokens and cases in the clear to another machine: `http://` to anything
    /// but this machine (localhost, 127.0.0.0/8, ::1). Such a server is used only when the user says so.
    public static func isInsecure(_ url: URL) -> Bool {
        guard url.scheme?.lowercased() == "http", let host = url.host?.lowercased() else { return false }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if bare == "localhost" || bare == "::1" { return false }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return !(octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil })
    }

    public func uploadState(sha256: String, token: String) async throws(SyncTransportError) -> UploadState? {
        try await SyncTransportError.absentIfNotFound { () async throws(SyncTransportError) -> UploadState in
            try await send("GET", "/uploads/\(sha256)", token: token, body: Optional<String>.none)
        }
    }

    public func upload(sha256: String, size: Int64, offset: Int64, bytes: [UInt8], token: String) async throws(SyncTransportError)
        -> UploadState
    {
        let query = [URLQueryItem(name: "size", value: String(size)), URLQueryItem(name: "offset", value: String(offset))]
        let data = try await exchange(
            "PUT", "/uploads/\(sha256)", query: query, token: token, body: Optional<String>.none, raw: Data(bytes))
        return try decode(UploadState.self, data)
    }

    public func download(caseId: String, sha256: String, range: Range<Int64>, token: String) async throws(SyncTransportError) -> [UInt8] {
        let data = try await exchange(
            "GET", "/cases/\(caseId)/blobs/\(sha256)", query: [], token: token, body: Optional<String>.none,
            headers: ["Range": "bytes=\(range.lowerBound)-\(range.upperBound - 1)"])
        guard data.count == range.count else {
            throw .unreachable("the download was cut off after \(data.count) of \(range.count) bytes")
        }
        return Array(data)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(SyncTransportError) -> T {
        do {
            return try WireCoding.decode(type, from: data)
        } catch {
            throw .invalidResponse(WireCoding.describe(error))
        }
    }

    public func discover() async throws(SyncTransportError) -> DiscoveryResponse {
        try await send("GET", "/.well-known/casesync", token: nil, body: Optional<String>.none)
    }

    public func redeem(_ request: RedeemRequest) async throws(SyncTransportError) -> RedeemResponse {
        try await send("POST", "/auth/redeem", token: nil, body: request)
    }

    public func push(_ request: PushRequest, token: String) async throws(SyncTransportError) -> PushResponse {
        let data: Data
        do {
            data = try await exchange("POST", "/sync/push", query: [], token: token, body: request, compress: !plainBodies.set.load(ordering: .relaxed))
        } catch {
            // A server that takes no gzipped bodies says so (415; one from before gzipped pushes reads the
            // packed bytes as JSON and finds them malformed): the push goes again as it is, and so do later ones.
            guard case .server(let status, let body) = error,
                  (status == 415 && body.code == .unsupportedEncoding) || (status == 400 && body.code == .malformedJSON)
            else { throw error }
            plainBodies.set.store(true, ordering: .relaxed)
            data = try await exchange("POST", "/sync/push", query: [], token: token, body: request)
        }
        do {
            return try PushResponse(json: data)
        } catch {
            throw .invalidResponse(WireCoding.describe(error))
        }
    }

    public func pull(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> PullResponse {
        let page = try await pullPage(cursor: cursor, limit: limit, token: token)
        do {
            return try page.decoded()
        } catch {
            throw .invalidResponse(WireCoding.describe(error))
        }
    }

    public func pullPage(cursor: String?, limit: Int?, token: String) async throws(SyncTransportError) -> RawPullResponse {
        var query: [URLQueryItem] = []
        if let cursor { query.append(URLQueryItem(name: "cursor", value: cursor)) }
        if let limit { query.append(URLQueryItem(name: "limit", value: String(limit))) }
        let data = try await exchange("GET", "/sync/pull", query: query, token: token, body: Optional<String>.none)
        do {
            return try RawPullResponse(json: data)
        } catch {
            throw .invalidResponse(WireCoding.describe(error))
        }
    }

    /// `GET /authorities`; nil when the register is still the one of `version` (`304`).
    public func authorities(ifNoneMatch version: String?) async throws(SyncTransportError) -> AuthorityRegister? {
        let headers = version.map { ["If-None-Match": "\"\($0)\""] } ?? [:]
        let data = try await exchange("GET", "/authorities", query: [], token: nil, body: Optional<String>.none, headers: headers)
        guard !data.isEmpty else { return nil }
        do {
            return try WireCoding.decode(AuthorityRegister.self, from: data)
        } catch {
            throw .invalidResponse(WireCoding.describe(error))
        }
    }

    public func devices(token: String) async throws(SyncTransportError) -> DeviceList {
        try await send("GET", "/devices", token: token, body: Optional<String>.none)
    }

    public func revokeDevice(clientId: String, token: String) async throws(SyncTransportError) -> DeviceInfo {
        guard let escaped = clientId.addingPercentEncoding(withAllowedCharacters: .alphanumerics) else {
            throw .invalidResponse("the device id \(clientId) cannot be sent")
        }
        return try await send("DELETE", "/devices/" + escaped, token: token, body: Optional<String>.none)
    }

    public func logout(token: String) async throws(SyncTransportError) -> DeviceInfo {
        try await send("POST", "/auth/logout", token: token, body: Optional<String>.none)
    }

    public func exportAccount(token: String) async throws(SyncTransportError) -> AccountExport {
        try await send("GET", "/account/export", token: token, body: Optional<String>.none)
    }

    /// The request stays open for up to `seconds` (and the server's answer on top of it).
    public func wait(cursor: String?, seconds: Int, token: String) async throws(SyncTransportError) -> WaitResponse {
        var query = [URLQueryItem(name: "seconds", value: String(seconds))]
        if let cursor { query.append(URLQueryItem(name: "cursor", value: cursor)) }
        return try await send("GET", "/sync/wait", query: query, token: token, body: Optional<String>.none, timeout: TimeInterval(seconds) + timeout)
    }

    private func send<Body: Encodable, Answer: Decodable>(
        _ method: String, _ path: String, query: [URLQueryItem] = [], token: String?, body: Body?, timeout: TimeInterval? = nil
    ) async throws(SyncTransportError) -> Answer {
        let data = try await exchange(method, path, query: query, token: token, body: body, timeout: timeout)
        do {
            return try WireCoding.decode(Answer.self, from: data)
        } catch {
            throw .invalidResponse(WireCoding.describe(error))
        }
    }

    /// One request; the answer's body when it is a success (empty for `304 Not Modified`), a transport
    /// error otherwise.
    private func exchange<Body: Encodable>(
        _ method: String, _ path: String, query: [URLQueryItem], token: String?, body: Body?, headers: [String: String] = [:],
        timeout: TimeInterval? = nil, compress: Bool = false, raw: Data? = nil
    ) async throws(SyncTransportError) -> Data {
        guard var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else {
            throw .invalidResponse("the server URL \(baseURL) cannot be used")
        }
        components.path = components.path.hasSuffix("/") ? String(components.path.dropLast()) + path : components.path + path
        components.queryItems = query.isEmpty ? nil : query
        guard let url = components.url else { throw .invalidResponse("the server URL \(baseURL) cannot be used") }
        var request = URLRequest(url: url, timeoutInterval: timeout ?? self.timeout)
        request.httpMethod = method
        request.setValue(String(ProtocolVersion.current), forHTTPHeaderField: ProtocolVersion.headerName)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let raw {
            request.httpBody = raw
            request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        }
        if let body {
            if let writable = body as? any JSONWritable {
                request.httpBody = Data(writable.jsonBytes)
            } else {
                do {
                    request.httpBody = try WireCoding.encoder().encode(body)
                } catch {
                    throw .invalidResponse("the request could not be encoded")
                }
            }
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            if compress, let plain = request.httpBody, plain.count >= Self.compressFrom, let packed = Gzip.compress(Array(plain)) {
                request.httpBody = Data(packed)
                request.setValue("gzip", forHTTPHeaderField: "Content-Encoding")
            }
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw .unreachable((error as? URLError).map { "\($0.code.rawValue == -1004 ? "connection refused" : $0.localizedDescription)" } ?? "\(error)")
        }
        guard let http = response as? HTTPURLResponse else { throw .invalidResponse("not an HTTP answer") }
        if http.statusCode == 304, headers["If-None-Match"] != nil { return Data() }
        guard (200..<300).contains(http.statusCode) else {
            if let envelope = try? WireCoding.decode(ErrorEnvelope.self, from: data) {
                throw .server(status: http.statusCode, error: envelope.error)
            }
            if http.statusCode >= 500 || http.statusCode == 429 {
                throw .unreachable("the server answered \(http.statusCode)")
            }
            throw .invalidResponse("status \(http.statusCode) without a protocol error body")
        }
        return data
    }
}

/// The protocol never redirects: a redirect is answered as it is (an error), never followed, so that no
/// answer can send a device's token to another address, or from https to plain http.
final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
