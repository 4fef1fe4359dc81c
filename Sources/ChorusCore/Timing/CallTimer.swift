/// Where a call's timers (deadlines, watchdogs, heartbeats) run.
///
/// `Task.sleep` arms a timer on the global executor's timer thread (Dispatch's manager thread on
/// Linux), and arming or cancelling one wakes that thread: a call with a watchdog per model paid a
/// cross-thread wake-up or two just to start, on top of the ones its I/O needs. A server that runs
/// a call on an event loop installs that loop's timers as ``CallTimers/current`` (task-local, so
/// every child task of the call inherits it), and the call's sleeps become timers of the thread the
/// call already runs on. Code that sleeps on behalf of a call uses ``CallTimers/sleep(until:)``.
///
/// ```swift
/// try await CallTimers.$current.withValue(loopTimer) {
///     try await CallTimers.sleep(until: .now + .seconds(5))   // a timer of the loop
/// }
/// ```
public protocol CallTimer: Sendable {
    /// Suspends until `deadline` (returning at once if it passed); throws `CancellationError`
    /// promptly when the task is cancelled, like `Task.sleep`.
    func sleep(until deadline: ContinuousClock.Instant) async throws

    /// The ticker that paces sleeps on behalf of the call (``CallTimers/withPacer(_:)``); nil
    /// means ``Ticker/shared``.
    var ticker: Ticker? { get }
}

extension CallTimer {
    public var ticker: Ticker? { nil }
}

/// The current task's ``CallTimer``, and sleeping on it.
public enum CallTimers {
    /// Set by the server around a call; nil means `Task.sleep`.
    @TaskLocal public static var current: (any CallTimer)?

    /// Sleeps on ``current``, or with `Task.sleep` when none is installed.
    public static func sleep(until deadline: ContinuousClock.Instant) async throws {
        if let current {
            try await current.sleep(until: deadline)
        } else {
            try await Task.sleep(until: deadline, clock: .continuous)
        }
    }

    public static func sleep(for duration: Duration) async throws {
        try await sleep(until: .now + duration)
    }

    /// Runs `body` with a pacer on the current timer's ``CallTimer/ticker`` (or ``Ticker/shared``):
    /// sleeps rounded up to the next millisecond tick, for pacing a stream (thousands of sleepers
    /// share one timer per tick), not for deadlines; one cancellation handler for all of them.
    public static func withPacer<R>(_ body: (Ticker.Pacer) async throws -> R) async throws -> R {
        try await (current?.ticker ?? Ticker.shared).withPacer(body)
    }
}
