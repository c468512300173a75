import CaseSyncProtocol
import Hummingbird
import Logging
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import NIOCore
import Synchronization

/// The connection side of the limits: how many connections the server holds at once and from one
/// address (a trusted proxy's excepted: it carries everyone's), and how long a silent one stays open. A connection over a limit is closed at once (the
/// listening socket stops accepting while the server is full), so idle sockets cannot use up the
/// server's file descriptors; the idle timeout also bounds how long a request's headers may take.
public struct ConnectionLimits: Sendable {
    let limits: ProtocolLimits
    let perAddress: AddressConnectionCounter

    public init(_ limits: ProtocolLimits, trustedProxies: TrustedProxies = .none) {
        self.limits = limits
        perAddress = AddressConnectionCounter(limit: limits.maxConnectionsPerAddress, exempt: trustedProxies)
    }

    /// Hummingbird's HTTP/1 server with the idle timeout and the limit per address.
    public var server: HTTPServerBuilder {
        let counter = perAddress
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [AddressConnectionLimitHandler(counter: counter)],
                idleTimeout: .seconds(Int64(limits.idleTimeoutSeconds))))
    }

    /// The same server, over TLS when given its configuration.
    public func server(tls: TLSConfiguration?) throws -> HTTPServerBuilder {
        guard let tls else { return server }
        return try .tls(server, tlsConfiguration: tls)
    }

    /// The application configuration's cap on open connections.
    public func configuration(address: BindAddress, logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(address: address, availableConnectionsDelegate: .maximum(limits.maxConnections, logger: logger))
    }
}

/// Open connections per peer address.
final class AddressConnectionCounter: Sendable {
    let limit: Int
    let exempt: TrustedProxies
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int, exempt: TrustedProxies) {
        self.limit = limit
        self.exempt = exempt
    }

    /// Counts a new connection from `address`, unless the address has `limit` open already.
    func open(_ address: String) -> Bool {
        if exempt.contains(address) { return true }
        return counts.withLock { counts in
            let open = counts[address, default: 0]
            guard open < limit else { return false }
            counts[address] = open + 1
            return true
        }
    }

    func close(_ address: String) {
        if exempt.contains(address) { return }
        counts.withLock { counts in
            let open = counts[address, default: 1] - 1
            counts[address] = open > 0 ? open : nil
        }
    }
}

/// Closes a new connection whose address has too many open; counts it otherwise until it closes.
final class AddressConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let counter: AddressConnectionCounter
    private var counted: String?

    init(counter: AddressConnectionCounter) {
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress ?? ""
        if counter.open(address) {
            counted = address
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let counted { counter.close(counted) }
        counted = nil
    }
}
