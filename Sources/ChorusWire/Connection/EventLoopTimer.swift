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

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
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
                let (seconds, attoseconds) = delay.components
                let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
                let task = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { sleeper.fire() }
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
