import Hummingbird

/// The request context of every route: Hummingbird's core storage plus the authenticated session.
public struct CaseSyncRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var session: Session?
    /// The address the request counts against in the limits per address: the peer's, or the one a
    /// trusted proxy forwarded (`ClientAddressMiddleware`); never logged.
    public internal(set) var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.session = nil
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }
}
