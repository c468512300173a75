import CaseSyncProtocol

/// A hybrid logical clock: readings follow the wall clock but never go backwards and are unique per
/// node. Pure: the wall-clock time is passed in.
public struct HybridLogicalClock: Sendable, Hashable {
    public private(set) var last: HLCTimestamp
    public let node: String

    public init(node: String, last: HLCTimestamp? = nil) {
        self.node = node
        self.last = last ?? HLCTimestamp(millis: 0, counter: 0, node: node)
    }

    /// A new reading for a local event at wall-clock time `now`.
    public mutating func tick(now: Timestamp) -> HLCTimestamp {
        let wall = now.millisecondsSince1970
        if wall > last.millis {
            last = HLCTimestamp(millis: wall, counter: 0, node: node)
        } else if last.counter == .max {
            last = HLCTimestamp(millis: last.millis + 1, counter: 0, node: node)
        } else {
            last = HLCTimestamp(millis: last.millis, counter: last.counter + 1, node: node)
        }
        return last
    }

    /// Takes in a reading seen from elsewhere, so later local readings sort after it.
    public mutating func observe(_ remote: HLCTimestamp) {
        if remote.millis > last.millis || (remote.millis == last.millis && remote.counter > last.counter) {
            last = HLCTimestamp(millis: remote.millis, counter: remote.counter, node: node)
        }
    }
}
