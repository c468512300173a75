import CaseSyncProtocol
import Synchronization

/// Token buckets by key (a device's client id, a peer's address): each holds up to `perMinute`
/// requests and refills at `perMinute` a minute. Time comes from the server's injected clock, so tests
/// run it deterministically. The number of keys held is bounded: full buckets are forgotten first.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    let perMinute: Int
    private let maxKeys: Int
    private let now: @Sendable () -> Timestamp
    private let buckets = Mutex<[String: Bucket]>([:])

    /// `perMinute` 0 means no limit.
    init(perMinute: Int, maxKeys: Int = 100_000, now: @escaping @Sendable () -> Timestamp) {
        self.perMinute = perMinute
        self.maxKeys = maxKeys
        self.now = now
    }

    /// Takes one request from `key`'s bucket: nil when it may go ahead, else the whole seconds to wait.
    func take(_ key: String) -> Int? {
        guard perMinute > 0 else { return nil }
        let millis = now().millisecondsSince1970
        let capacity = Double(perMinute)
        let perMilli = capacity / 60_000
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: millis)
            bucket.tokens = min(capacity, bucket.tokens + Double(max(0, millis - bucket.updated)) * perMilli)
            bucket.updated = millis
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return max(1, Int(((1 - bucket.tokens) / perMilli / 1_000).rounded(.up)))
            }
            bucket.tokens -= 1
            if buckets.count >= maxKeys, buckets[key] == nil { forgetFull(&buckets, at: millis) }
            buckets[key] = bucket
            return nil
        }
    }

    /// Drops buckets that have refilled (they behave exactly like absent ones), or failing that, half.
    private func forgetFull(_ buckets: inout [String: Bucket], at millis: Int64) {
        let refillMillis = Int64(60_000)
        buckets = buckets.filter { millis - $0.value.updated < refillMillis }
        if buckets.count >= maxKeys { buckets = Dictionary(uniqueKeysWithValues: buckets.prefix(maxKeys / 2).map { ($0.key, $0.value) }) }
    }

    /// The refusal for a key that has to wait.
    static func refusal(_ seconds: Int, _ what: String) -> ServiceError {
        ServiceError(
            .rateLimited, "too many \(what); try again in \(seconds) s",
            details: ["retryAfterSeconds": String(seconds)])
    }
}
