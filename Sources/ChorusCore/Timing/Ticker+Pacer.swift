import Synchronization

extension Ticker {
    /// Sleeps on a ``Ticker`` for one task, under the cancellation handler ``Ticker/withPacer(_:)``
    /// installed. Cancelling the task ends the current sleep at once with `CancellationError`, and
    /// every later one.
    public final class Pacer: Sendable {
        private struct State {
            var cancelled = false
            /// The latest sleep's bucket and id (stale once it woke; cancelling then finds nothing).
            var waiting: (tick: Int64, id: UInt64)?
        }

        let ticker: Ticker
        private let state = Mutex(State())

        init(ticker: Ticker) {
            self.ticker = ticker
        }

        /// Sleeps until `deadline` rounded up to the next millisecond tick.
        public func sleep(until deadline: ContinuousClock.Instant) async throws {
            guard deadline > .now else {
                if state.withLock({ $0.cancelled }) { throw CancellationError() }
                return
            }
            let tick = ticker.ticks(at: deadline, roundingUp: true)
            // Unsafe continuation: resumed exactly once, by whoever removes the sleeper from its
            // bucket under the ticker's lock (a due tick, `cancel`, or a failed ticker).
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                if !wait(tick: tick, waker: .task(continuation)) {
                    continuation.resume(throwing: CancellationError())
                }
            }
        }

        /// Calls `step` from the ticker's timer every `interval` (each call's deadline counted from
        /// the previous one's end, rounded up to a tick) until it returns false or throws; returns
        /// or throws then.
        ///
        /// For a stream whose every step is short, non-blocking work (writing a paced chunk):
        /// `step` runs synchronously on the thread the tick fires on (the call's event loop for a
        /// loop's ticker), so the task is resumed once when the stream stops rather than once per
        /// step. Cancelling the task ends the drive at once with `CancellationError`.
        ///
        /// ```swift
        /// try await pacer.drive(every: .milliseconds(20)) {
        ///     try output.writeWithoutWaiting(next()) == .written && hasMore()
        /// }
        /// ```
        public func drive(every interval: Duration, _ step: @escaping @Sendable () throws -> Bool) async throws {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                Drive(pacer: self, interval: interval, step: step, continuation: continuation).schedule()
            }
        }

        /// Registers `waker` for `tick` unless the pacer was cancelled; false when it was (the caller
        /// resumes or finishes the waker itself then).
        func wait(tick: Int64, waker: Waker) -> Bool {
            // Registered under this pacer's lock, so `cancel` either sees the sleeper or runs
            // first and is seen here; nothing falls between the two.
            let (registered, rearm) = state.withLock { state -> (Bool, UInt64?) in
                guard !state.cancelled, let (id, rearm) = ticker.register(tick: tick, waker: waker) else {
                    return (false, nil)
                }
                state.waiting = (tick, id)
                return (true, rearm)
            }
            if let rearm { ticker.armTimer(tick: tick, generation: rearm) }
            return registered
        }

        func cancel() {
            let waiting = state.withLock { state in
                state.cancelled = true
                return state.waiting
            }
            if let waiting { ticker.cancel(tick: waiting.tick, id: waiting.id) }
        }
    }
}

extension Ticker.Pacer {
    /// One ``Ticker/Pacer/drive(every:_:)``: sits in a tick's bucket between steps and owns the
    /// suspended task's continuation, which exactly one of its paths resumes (the step ending or
    /// throwing, `cancel`, or a failed ticker), because only whoever removed it from its bucket runs it.
    final class Drive: Sendable {
        private let pacer: Ticker.Pacer
        private let interval: Duration
        private let step: @Sendable () throws -> Bool
        private let continuation: UnsafeContinuation<Void, any Error>

        init(pacer: Ticker.Pacer, interval: Duration, step: @escaping @Sendable () throws -> Bool, continuation: UnsafeContinuation<Void, any Error>) {
            self.pacer = pacer
            self.interval = interval
            self.step = step
            self.continuation = continuation
        }

        /// Waits for the tick after `interval` from now.
        func schedule() {
            let tick = pacer.ticker.ticks(at: .now + interval, roundingUp: true)
            if !pacer.wait(tick: tick, waker: .drive(self)) { finish(.failure(CancellationError())) }
        }

        /// The tick came: one step, then the next wait or the end.
        func fire() {
            do {
                if try step() { schedule() } else { finish(.success(())) }
            } catch {
                finish(.failure(error))
            }
        }

        func finish(_ result: Result<Void, any Error>) {
            continuation.resume(with: result)
        }
    }
}
