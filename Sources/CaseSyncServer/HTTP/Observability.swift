import CaseSyncProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics

/// What an instance counts for its operator (through swift-metrics; the executable exports them in
/// Prometheus's format at `/metrics`). Labels are routes, statuses and outcomes, never content.
enum ServerMetrics {
    static let pushMutations = [MutationOutcome.Status.applied, .merged, .rejected].reduce(into: [:]) {
        $0[$1] = Counter(label: "casesync_push_mutations_total", dimensions: [("outcome", $1.rawValue)])
    }
    static let pullChanges = Counter(label: "casesync_pull_changes_total")
    static let pullBytes = Counter(label: "casesync_pull_bytes_total")
    static let serverErrors = Counter(label: "casesync_server_errors_total")
    /// Devices waiting for news now (`GET /sync/wait`).
    static let waiting = Meter(label: "casesync_waiting_devices")
    /// Requests from a trusted proxy whose X-Forwarded-For held no readable address (counted against the proxy).
    static let unreadableForwardedFor = Counter(label: "casesync_forwarded_for_unreadable_total")

    static func count(_ response: PushResponse) {
        for outcome in response.outcomes { pushMutations[outcome.status]?.increment() }
    }

    static func count(_ page: RawPullResponse, bytes: Int) {
        pullChanges.increment(by: page.changes.count)
        pullBytes.increment(by: bytes)
    }
}

/// One line per request for the access log: method, route (the template, never the path with its
/// query), status, duration and instance. Nothing a person wrote, no token, no cursor.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = CaseSyncRequestContext
    let instance: String
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard logger.logLevel <= .info else { return try await next(request, context) }
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let millis = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "route": "\(context.endpointPath ?? "unmatched")",
                "status": "\(response.status.code)", "duration_ms": "\(String(format: "%.1f", millis))",
                "instance": "\(instance)",
            ])
        return response
    }
}

/// What an instance tells its operator: its name in the access log, and its metrics.
public struct Observability: Sendable {
    /// The instance's name in the access log (host and port unless the operator names it).
    public var instance: String
    /// Where the access log goes; nil: no access log.
    public var accessLog: Logger?
    /// The metrics in Prometheus's text format, served at `/metrics`; nil: no `/metrics`.
    public var exportMetrics: (@Sendable () -> [UInt8])?

    public init(instance: String, accessLog: Logger?, exportMetrics: (@Sendable () -> [UInt8])?) {
        self.instance = instance
        self.accessLog = accessLog
        self.exportMetrics = exportMetrics
    }

    /// Neither: for tests and tools that build a router of their own.
    public static let none = Observability(instance: "casesync-server", accessLog: nil, exportMetrics: nil)
}
