/// `GET /sync/wait`: whether the device's scope has changed past its cursor. A hint to pull, never
/// data: the answer comes as soon as the scope changes (or at once, when it has changed already), and
/// after the wait asked for when it does not (`changed: false`); the device then pulls, or waits again.
public struct WaitResponse: Codable, Sendable, Hashable {
    public var changed: Bool

    public init(changed: Bool) {
        self.changed = changed
    }
}

/// How long a device waits for news.
public enum WaitRules {
    /// The wait when a request names none, in seconds: below the idle timeouts of common proxies and
    /// mobile networks' address translation (30 s and more).
    public static let defaultSeconds = 25
}
