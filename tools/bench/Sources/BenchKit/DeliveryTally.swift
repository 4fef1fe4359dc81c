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
    /// Unix µs interval in which text events are also counted into `windowTexts` (e.g. while every
    /// stream is running, when the offered rate is the nominal one); nil for none.
    public var window: Range<Int64>?
    public var windowTexts = 0

    public init(window: Range<Int64>? = nil) {
        self.window = window
    }

    /// A text event stamped at `stamp` (Unix µs, nil when unknown) and received at `now`.
    public mutating func text(stampedAt stamp: Int64?, receivedAt now: Int64) {
        if let stamp { delay.record(micros: now - stamp) }
        textEvents += 1
        if let window, window.contains(now) { windowTexts += 1 }
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
        windowTexts += other.windowTexts
        firstTextMicros = min(firstTextMicros, other.firstTextMicros)
        lastTextMicros = max(lastTextMicros, other.lastTextMicros)
        completed += other.completed
        problems += other.problems.prefix(max(0, maxProblems - problems.count))
    }

    /// Text events per second received within `window` (counted by every merged tally; the
    /// window is this tally's).
    public var windowEventsPerSecond: Double? {
        guard let window, window.upperBound > window.lowerBound else { return nil }
        return Double(windowTexts) / (Double(window.upperBound - window.lowerBound) / 1e6)
    }

    /// Text events per second between the first and the last one received.
    public var eventsPerSecond: Double? {
        guard lastTextMicros > firstTextMicros else { return nil }
        return Double(textEvents) / (Double(lastTextMicros - firstTextMicros) / 1e6)
    }
}
