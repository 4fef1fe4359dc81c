/// What a set of concurrent streams delivered: provider→client delay of every text event, how
/// many arrived and when, completed streams and the first problems. Each stream keeps its own and
/// merges it into a shared one (a ``Locked``) when it ends.
///
/// ```swift
/// var tally = DeliveryTally()
/// tally.text(stampedAt: event.timestampMicros, receivedAt: unixMicrosNow())
/// total.withLock { $0.merge(tally) }
/// ```
public struct DeliveryTally: Sendable {
    public var delay = LatencyHistogram()
    public var textEvents = 0
    public var firstTextMicros = Int64.max
    public var lastTextMicros = Int64.min
    public var completed = 0
    public var problems: [String] = []

    public init() {}

    /// A text event stamped at `stamp` (Unix µs, nil when unknown) and received at `now`.
    public mutating func text(stampedAt stamp: Int64?, receivedAt now: Int64) {
        if let stamp { delay.record(micros: now - stamp) }
        textEvents += 1
        firstTextMicros = min(firstTextMicros, now)
        lastTextMicros = max(lastTextMicros, now)
    }

    /// Ends one stream: it completed when `problem` is nil.
    public mutating func finish(problem: String?) {
        if let problem { problems.append(problem) } else { completed += 1 }
    }

    /// Adds another tally, keeping at most `maxProblems` problems.
    public mutating func merge(_ other: DeliveryTally, maxProblems: Int = 20) {
        delay.merge(other.delay)
        textEvents += other.textEvents
        firstTextMicros = min(firstTextMicros, other.firstTextMicros)
        lastTextMicros = max(lastTextMicros, other.lastTextMicros)
        completed += other.completed
        problems += other.problems.prefix(max(0, maxProblems - problems.count))
    }

    /// Text events per second between the first and the last one received.
    public var eventsPerSecond: Double? {
        guard lastTextMicros > firstTextMicros else { return nil }
        return Double(textEvents) / (Double(lastTextMicros - firstTextMicros) / 1e6)
    }
}
