import CaseSyncProtocol

/// A hybrid logical clock: readings follow the wall clock but never go backwards and are unique per
/// node. Pure: the wall-clock time is passed in.
///
/// Its readings always fit the wire form: a reading seen from elsewhere that is implausibly far ahead
/// of the wall clock (a forged or corrupt one) is not taken in, and the milliseconds never pass
/// `HLCTimestamp.maxMillis`.
public struct HybridLogicalClock: Sendable, Hashable {
    public private(set) var last: HLCTimestamp
    public let node: String

    /// How far ahead of the wall clock a reading seen elsewhere may be and still be taken in. Servers
    /// refuse readings more than minutes ahead of theirs; a day leaves room for a device's wrong clock.
    public static let maxObservedLeadMillis: Int64 = 86_400_000

    public init(node: String, last: HLCTimestamp? = nil) {
        self.node = node
        let start = last ?? HLCTimestamp(millis: 0, counter: 0, node: node)
        self.last = HLCTimestamp(millis: min(max(0, start.millis), HLCTimestamp.maxMillis), counter: start.counter, node: node)
    }

    /// A new reading for a local event at wall-clock time `now`.
    public mutating func tick(now: Timestamp) -> HLCTimestamp {
        let wall = min(now.millisecondsSince1970, HLCTimestamp.maxMillis)
        if wall > last.millis {
            last = HLCTimestamp(millis: wall, counter: 0, node: node)
        } else if last.counter < .max {
            last = HLCTimestamp(millis: last.millis, counter: last.counter + 1, node: node)
        } else if last.millis < HLCTimestamp.maxMillis {
            last = HLCTimestamp(millis: last.millis + 1, counter: 0, node: node)
        }
        // At the very end of the wire form's range the reading stands still rather than overflow.
        return last
    }

    /// Takes in a reading seen from elsewhere, so later local readings sort after it. A reading more
    /// than `maxObservedLeadMillis` ahead of `now` is ignored.
    public mutating func observe(_ remote: HLCTimestamp, now: Timestamp) {
        guard remote.millis <= now.millisecondsSince1970 &+ Self.maxObservedLeadMillis, remote.millis <= HLCTimestamp.maxMillis
        else { return }
        if remote.millis > last.millis || (remote.millis == last.millis && remote.counter > last.counter) {
            last = HLCTimestamp(millis: remote.millis, counter: remote.counter, node: node)
        }
    }
}
