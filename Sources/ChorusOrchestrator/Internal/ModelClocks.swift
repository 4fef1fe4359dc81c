import ChorusCore

/// The three clocks of one model run, as a value type the watchdog task and the output writer share
/// under a lock.
///
/// - first chunk: from the start of the run until the provider writes its first chunk;
/// - idle: the longest gap between two chunks;
/// - total: from the start of the run until the provider returns.
///
/// Time the provider spends blocked inside a write (because the client reads slowly) does not count
/// towards the first-chunk or idle clocks: that silence is the consumer's, not the model's. Neither
/// does time spent preparing (`ModelOutputWriter.preparing`: uploading a video, waiting for the
/// upstream to process it), which the first-chunk clock skips: it resumes with what was left of it.
/// Both count towards the total clock.
///
/// Once a clock has expired the decision is final: later chunks are refused, so no text follows a
/// model's timeout error.
struct ModelClocks: Sendable {
    struct Limits: Sendable, Hashable {
        var firstChunk: Duration
        var idle: Duration
        var total: Duration
    }

    /// Which clock ran out, with the limit it enforced.
    enum Expiry: Sendable, Hashable {
        case firstChunk(Duration)
        case idle(Duration)
        case total(Duration)

        /// The message of the model's `error` event.
        func message(model: String) -> String {
            switch self {
            case .firstChunk(let limit):
                return "\(model) sent no text within \(limit.compactDescription) (first-chunk timeout)"
            case .idle(let limit):
                return "\(model) stalled: no text for \(limit.compactDescription) (idle timeout)"
            case .total(let limit):
                return "\(model) exceeded its total timeout of \(limit.compactDescription)"
            }
        }
    }

    /// What the watchdog should do next.
    enum Action: Sendable, Hashable {
        case sleep(until: ContinuousClock.Instant)
        case expire(Expiry)
    }

    let limits: Limits
    let started: ContinuousClock.Instant
    private(set) var firstChunkAt: ContinuousClock.Instant?
    /// When the model last showed life: a chunk arriving or a blocked write finishing.
    private(set) var lastActivity: ContinuousClock.Instant?
    private(set) var writesInFlight = 0
    private(set) var expiry: Expiry?
    /// Preparation steps running now (they may nest or overlap).
    private(set) var preparing = 0
    /// When the running preparation began (the first of overlapping steps).
    private var preparingSince: ContinuousClock.Instant?
    /// Where the first-chunk clock counts from: the start, moved later by every preparation that
    /// ended before the first chunk.
    private var firstChunkBase: ContinuousClock.Instant

    init(limits: Limits, started: ContinuousClock.Instant) {
        self.limits = limits
        self.started = started
        self.firstChunkBase = started
    }

    /// The first-chunk clock's deadline as it stands (pushed back by preparations that ended).
    var firstChunkDeadline: ContinuousClock.Instant {
        firstChunkBase.advanced(by: limits.firstChunk)
    }

    /// Records that a preparation step began: the first-chunk and idle clocks stop until every
    /// running step has ended.
    mutating func preparationBegan(at now: ContinuousClock.Instant) {
        preparing += 1
        if preparing == 1 { preparingSince = now }
    }

    /// Records that a preparation step ended. Before the first chunk, the first-chunk clock resumes
    /// with what it had left when the preparation began; after it, the idle clock restarts now.
    mutating func preparationEnded(at now: ContinuousClock.Instant) {
        preparing -= 1
        guard preparing == 0, let since = preparingSince else { return }
        preparingSince = nil
        if firstChunkAt == nil {
            firstChunkBase = firstChunkBase.advanced(by: since.duration(to: now))
        } else {
            lastActivity = now
        }
    }

    /// Records a chunk handed over by the provider. Returns false when a clock has already run out
    /// (checked against `now`, so the outcome does not depend on when the watchdog gets scheduled).
    mutating func chunkArrived(at now: ContinuousClock.Instant) -> Bool {
        if case .expire = check(now: now) { return false }
        if firstChunkAt == nil { firstChunkAt = now }
        lastActivity = now
        writesInFlight += 1
        return true
    }

    /// Records that a write returned (the consumer had room again); the idle clock restarts here.
    mutating func writeFinished(at now: ContinuousClock.Instant) {
        writesInFlight -= 1
        lastActivity = now
    }

    /// Decides whether a clock has run out at `now` and, if not, when to look again.
    ///
    /// The returned instant is never later than the earliest moment a clock could expire, even if a
    /// chunk arrives or a blocked write returns in the meantime, so expiries are on time. The watchdog
    /// wakes at deadlines, or at most once per idle period while waiting for a first chunk or for
    /// the consumer, never on a short polling interval.
    mutating func check(now: ContinuousClock.Instant) -> Action {
        if let expiry { return .expire(expiry) }
        let totalDeadline = started.advanced(by: limits.total)
        if now >= totalDeadline { return expire(.total(limits.total)) }

        let silenceDeadline: ContinuousClock.Instant
        if preparing > 0, let since = preparingSince {
            // Preparing: no silence clock runs. A first-chunk clock that ran out before the
            // preparation began has still run out.
            guard firstChunkAt != nil || since < firstChunkDeadline else { return expire(.firstChunk(limits.firstChunk)) }
            // When the preparation ends, the first-chunk clock resumes with what it had left (or,
            // after a first chunk, the idle clock restarts): look again before either could run out.
            let left = firstChunkAt == nil ? min(limits.idle, since.duration(to: firstChunkDeadline)) : limits.idle
            silenceDeadline = now.advanced(by: left)
        } else if writesInFlight > 0 {
            // Blocked on the consumer: no silence clock runs. Look again one idle period from now in
            // case the write returns and the provider then goes quiet.
            silenceDeadline = now.advanced(by: limits.idle)
        } else if let lastActivity {
            silenceDeadline = lastActivity.advanced(by: limits.idle)
            if now >= silenceDeadline { return expire(.idle(limits.idle)) }
        } else {
            if now >= firstChunkDeadline { return expire(.firstChunk(limits.firstChunk)) }
            // A first chunk arriving now would start an idle clock that may end before the first-chunk
            // deadline; waking at least once per idle period keeps that expiry on time without the
            // writer having to wake the watchdog.
            silenceDeadline = min(firstChunkDeadline, now.advanced(by: limits.idle))
        }
        return .sleep(until: min(totalDeadline, silenceDeadline))
    }

    private mutating func expire(_ expiry: Expiry) -> Action {
        self.expiry = expiry
        return .expire(expiry)
    }
}
