import Synchronization

/// Paces many short sleeps with one timer per millisecond tick instead of one timer per sleep.
///
/// Streams that sleep between chunks (demo models at 50 chunks/s, thousands at once) would arm
/// hundreds of thousands of timers a second with `Task.sleep`; the timer heap then costs more CPU
/// than the streaming it paces (many-streams benchmark). Here sleepers wait in per-millisecond
/// buckets and one armed timer wakes each due bucket at once. Deadlines are rounded up to the next
/// millisecond, so this is for pacing, not for deadlines (use ``CallTimer`` for those). Cancelling
/// a sleeper resumes it at once with `CancellationError`, like `Task.sleep`.
///
/// Where the timer fires is the `arm` function's choice, and that is where every sleeper of a due
/// tick is resumed: ``Ticker/shared`` arms with `Task.sleep` (the global pool), while an event
/// loop's ticker (ChorusWire's `EventLoopTimer`) arms a scheduled task of the loop, so a call running
/// on that loop is woken from its own thread, without a cross-thread hand-off per chunk.
///
/// ```swift
/// try await Ticker.shared.sleep(until: .now + .milliseconds(20))
/// try await CallTimers.withPacer { try await $0.sleep(until: .now + .milliseconds(20)) }   // the call's ticker
/// ```
public final class Ticker: Sendable {
    /// Arms a timer that calls `fire(false)` at (or soon after) `deadline`, or `fire(true)` if it
    /// never can (its event loop shut down); returns what cancels it.
    public typealias Arm = @Sendable (_ deadline: ContinuousClock.Instant, _ fire: @escaping @Sendable (_ failed: Bool) -> Void) -> Disarm
    public typealias Disarm = @Sendable () -> Void

    /// The process-wide ticker for sleeps outside any call timer, armed with `Task.sleep`.
    public static let shared = Ticker()

    /// A ticker armed with `Task.sleep`: due ticks are resumed from the global pool.
    public convenience init() {
        self.init { deadline, fire in
            let task = Task.detached {
                // A cancelled timer must not fire; the generation check in `fire` covers the rest.
                guard (try? await Task.sleep(until: deadline, clock: .continuous)) != nil else { return }
                fire(false)
            }
            return { task.cancel() }
        }
    }

    private struct Sleeper {
        var id: UInt64
        var waker: Waker
    }

    /// What a due tick does with a sleeper.
    fileprivate enum Waker {
        /// Resumes a task sleeping in ``Pacer/sleep(until:)``.
        case task(UnsafeContinuation<Void, any Error>)
        /// Runs the next step of a ``Pacer/drive(every:_:)`` on the timer's thread.
        case drive(Pacer.Drive)

        func wake() {
            switch self {
            case .task(let continuation): continuation.resume()
            case .drive(let drive): drive.fire()
            }
        }

        func cancel() {
            switch self {
            case .task(let continuation): continuation.resume(throwing: CancellationError())
            case .drive(let drive): drive.finish(.failure(CancellationError()))
            }
        }
    }

    private struct State {
        /// Millisecond tick → sleepers due then. A cancelled sleeper is looked up in the bucket of
        /// its own tick (it knows which), so no per-sleeper index is kept.
        var buckets: [Int64: [Sleeper]] = [:]
        var nextID: UInt64 = 0
        /// The tick the armed timer fires at, nil when none is armed.
        var armedTick: Int64?
        var disarm: Disarm?
        /// Identifies the armed timer, so a stale or disarmed one that fires anyway does nothing.
        var generation: UInt64 = 0
        /// Set when a timer could not be armed: every sleeper, now and later, is cancelled.
        var failed = false

        /// Points the timer at `tick`; the caller arms it outside the lock with the returned generation.
        mutating func retarget(_ tick: Int64) -> UInt64 {
            armedTick = tick
            generation += 1
            return generation
        }
    }

    private let state = Mutex(State())
    private let origin = ContinuousClock.now
    private let arm: Arm

    public init(arm: @escaping Arm) {
        self.arm = arm
    }

    /// Sleeps until `deadline` rounded up to the next millisecond tick.
    ///
    /// For a stream of sleeps, ``withPacer(_:)`` is cheaper: one cancellation handler for all of them.
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await withPacer { try await $0.sleep(until: deadline) }
    }

    /// Runs `body` with a ``Pacer`` whose sleeps are this ticker's.
    ///
    /// The task's cancellation handler is installed once around `body`, not once per sleep: a
    /// demo stream sleeps between every two chunks, and adding and removing a handler each time
    /// (a task status record, under the task's lock) was a visible share of a chunk's CPU.
    ///
    /// ```swift
    /// try await Ticker.shared.withPacer { pacer in
    ///     for chunk in chunks {
    ///         try await pacer.sleep(until: .now + .milliseconds(20))
    ///         try await output.write(chunk)
    ///     }
    /// }
    /// ```
    public func withPacer<R>(_ body: (Pacer) async throws -> R) async throws -> R {
        let pacer = Pacer(ticker: self)
        return try await withTaskCancellationHandler {
            try await body(pacer)
        } onCancel: {
            pacer.cancel()
        }
    }

    /// Adds a sleeper due at `tick`; nil when the ticker failed. The caller arms the timer with the
    /// returned generation when there is one (the new sleeper is the soonest).
    fileprivate func register(tick: Int64, waker: Waker) -> (id: UInt64, rearm: UInt64?)? {
        state.withLock { state in
            if state.failed { return nil }
            state.nextID += 1
            let id = state.nextID
            state.buckets[tick, default: []].append(Sleeper(id: id, waker: waker))
            guard state.armedTick.map({ tick < $0 }) ?? true else { return (id, nil) }
            return (id, state.retarget(tick))
        }
    }

    /// Resumes sleeper `id` with `CancellationError` if no due tick took it yet.
    fileprivate func cancel(tick: Int64, id: UInt64) {
        let sleeper = state.withLock { state -> Sleeper? in
            // Not found: a due tick already took it (its resume wins over this one).
            guard let index = state.buckets[tick]?.firstIndex(where: { $0.id == id }) else { return nil }
            let sleeper = state.buckets[tick]!.remove(at: index)
            if state.buckets[tick]!.isEmpty { state.buckets[tick] = nil }
            return sleeper
        }
        sleeper?.waker.cancel()
    }

    /// Arms the timer for `tick` unless a later retarget superseded `generation` meanwhile.
    fileprivate func armTimer(tick: Int64, generation: UInt64) {
        let disarm = arm(origin + .milliseconds(tick)) { [self] failed in
            if failed { fail() } else { fire(generation: generation) }
        }
        let (superseded, previous) = state.withLock { state -> (Bool, Disarm?) in
            guard state.generation == generation else { return (true, nil) }
            defer { state.disarm = disarm }
            return (false, state.disarm)
        }
        previous?()
        if superseded { disarm() }
    }

    /// Wakes every due bucket and re-arms for the soonest remaining one.
    private func fire(generation: UInt64) {
        let now = ticks(at: .now, roundingUp: false)
        let (due, rearm) = state.withLock { state -> ([[Sleeper]], (tick: Int64, generation: UInt64)?) in
            guard state.generation == generation else { return ([], nil) }
            state.armedTick = nil
            state.disarm = nil
            var dueTicks: [Int64] = []
            var soonest: Int64?
            for key in state.buckets.keys {
                if key <= now {
                    dueTicks.append(key)
                } else if soonest.map({ key < $0 }) ?? true {
                    soonest = key
                }
            }
            // Removed after the scan: removing while iterating `keys` would copy the dictionary.
            let due = dueTicks.map { state.buckets.removeValue(forKey: $0)! }
            return (due, soonest.map { ($0, state.retarget($0)) })
        }
        if let rearm { armTimer(tick: rearm.tick, generation: rearm.generation) }
        for bucket in due {
            for sleeper in bucket { sleeper.waker.wake() }
        }
    }

    /// The timer can never fire: cancel every sleeper, and every later one at once.
    private func fail() {
        let sleepers = state.withLock { state -> [Sleeper] in
            state.failed = true
            state.armedTick = nil
            state.disarm = nil
            defer { state.buckets = [:] }
            return state.buckets.values.flatMap { $0 }
        }
        for sleeper in sleepers { sleeper.waker.cancel() }
    }

    fileprivate func ticks(at instant: ContinuousClock.Instant, roundingUp: Bool) -> Int64 {
        let (seconds, attoseconds) = (instant - origin).components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return roundingUp && remainder > 0 ? millis + 1 : millis
    }
}

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

        fileprivate let ticker: Ticker
        private let state = Mutex(State())

        fileprivate init(ticker: Ticker) {
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
        fileprivate func wait(tick: Int64, waker: Waker) -> Bool {
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

        fileprivate func cancel() {
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
    fileprivate final class Drive: Sendable {
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
