import Hummingbird

/// The request context of every route: Hummingbird's core storage plus the authenticated session.
public struct CaseSyncRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var session: Session?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.session = nil
    }
}
