import Hummingbird

/// The request context of every route: Hummingbird's core storage plus the authenticated session.
public struct CaseSyncRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var session: Session?
    /// The peer's IP address (for limits per address); never logged.
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.session = nil
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}
