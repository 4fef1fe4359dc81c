public import ChorusCore
public import NIOCore
import Synchronization

/// A ``ChorusCore/CallTimer`` on a NIO event loop: each sleep is a scheduled task of the loop
/// (its timerfd), so a call running on the loop (``EventLoopTaskExecutor``) arms and cancels its
/// deadlines and watchdogs without waking another thread.
///
/// ```swift
/// let timer = EventLoopTimer(eventLoop: channel.eventLoop)
/// try await CallTimers.$current.withValue(timer) { try await call.run() }
/// ```
public struct EventLoopTimer: CallTimer {
    public let eventLoop: any EventLoop
    /// The loop's ticker, shared by every call on the loop: a due tick resumes its sleepers on
    /// the loop's own thread (see ``ChorusCore/Ticker``).
    public let ticker: Ticker?

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.ticker = LoopTickers.ticker(for: eventLoop)
    }

    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        let delay = deadline - .now
        guard delay > .zero else {
            try Task.checkCancellation()
            return
        }
        let sleeper = Sleeper()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                guard sleeper.wait(continuation) else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                let task = eventLoop.scheduleTask(in: TimeAmount(delay)) { sleeper.fire() }
                // A loop that shut down never runs the task: its future fails instead, and so
                // does the sleep (after a cancellation this finds nothing left to resume).
                task.futureResult.whenFailure { _ in sleeper.cancel() }
                sleeper.scheduled(task)
            }
        } onCancel: {
            sleeper.cancel()
        }
    }

    /// One sleep: whichever of the timer and the cancellation comes first resumes it, once.
    private final class Sleeper: Sendable {
        private struct State {
            var continuation: CheckedContinuation<Void, any Error>?
            var task: Scheduled<Void>?
            var cancelled = false
        }

        private let state = Mutex(State())

        /// False when the task was cancelled before the sleep began.
        func wait(_ continuation: CheckedContinuation<Void, any Error>) -> Bool {
            state.withLock { state in
                guard !state.cancelled else { return false }
                state.continuation = continuation
                return true
            }
        }

        func scheduled(_ task: Scheduled<Void>) {
            let cancelNow = state.withLock { state -> Bool in
                state.task = task
                return state.cancelled
            }
            if cancelNow { task.cancel() }
        }

        func fire() {
            state.withLock { state -> CheckedContinuation<Void, any Error>? in
                defer { state.continuation = nil }
                return state.continuation
            }?.resume()
        }

        func cancel() {
            let (continuation, task) = state.withLock { state in
                state.cancelled = true
                defer { state.continuation = nil }
                return (state.continuation, state.task)
            }
            task?.cancel()
            continuation?.resume(throwing: CancellationError())
        }
    }
}

/// One ``ChorusCore/Ticker`` per event loop, made on first use.
///
/// Keyed by the loop's identity; an entry holds its loop weakly (a loop that is gone, whose
/// identifier a new loop may reuse, gets a new ticker), and the ticker's timer captures the loop
/// weakly too, so the registry keeps no loop alive.
enum LoopTickers {
    private final class Entry: @unchecked Sendable {
        // Only read and written under `entries`' lock.
        weak var loop: (any EventLoop)?
        let ticker: Ticker

        init(loop: any EventLoop, ticker: Ticker) {
            self.loop = loop
            self.ticker = ticker
        }
    }

    private static let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    static func ticker(for eventLoop: any EventLoop) -> Ticker {
        let key = ObjectIdentifier(eventLoop)
        return entries.withLock { entries in
            if let entry = entries[key], entry.loop === eventLoop { return entry.ticker }
            // Drop entries of loops that are gone before adding one (test suites make many groups).
            entries = entries.filter { $0.value.loop != nil }
            let ticker = Ticker { [weak eventLoop] deadline, fire in
                // The loop is gone, and so is any call that ran on it: end its sleepers.
                guard let eventLoop else {
                    fire(true)
                    return {}
                }
                // A deadline already passed is a task for the loop's next turn.
                let task = eventLoop.scheduleTask(in: TimeAmount(deadline - .now)) { fire(false) }
                // A loop that shut down never runs the task; its sleepers must not hang.
                task.futureResult.whenFailure { error in
                    if case EventLoopError.shutdown = error { fire(true) }
                }
                return { task.cancel() }
            }
            entries[key] = Entry(loop: eventLoop, ticker: ticker)
            return ticker
        }
    }
}
