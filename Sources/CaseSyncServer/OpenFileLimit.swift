#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CaseSyncProtocol
import Logging

/// Every connection is a file descriptor: the server raises its soft limit of open files as far as the
/// hard limit allows to hold `maxConnections` (plus room for the database and logs), and lowers
/// `maxConnections` if it cannot, so a flood of connections is refused by the limit, not by `accept`
/// failing for every client.
public func fitConnectionsToOpenFileLimit(_ limits: inout ProtocolLimits, logger: Logger) {
    let reserve = 64
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let wanted = rlim_t(limits.maxConnections + reserve)
    if limit.rlim_cur < wanted {
        var raised = limit
        raised.rlim_cur = min(wanted, limit.rlim_max)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    let available = Int(limit.rlim_cur) - reserve
    if available < limits.maxConnections {
        logger.warning(
            "the open-file limit allows \(max(1, available)) connections, not \(limits.maxConnections); raise it (ulimit -n) to serve more",
            metadata: ["casesync.max_connections": .stringConvertible(max(1, available))])
        limits.maxConnections = max(1, available)
    }
}
