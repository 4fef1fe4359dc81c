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
    enum Waker {
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
    func register(tick: Int64, waker: Waker) -> (id: UInt64, rearm: UInt64?)? {
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
    func cancel(tick: Int64, id: UInt64) {
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
    func armTimer(tick: Int64, generation: UInt64) {
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

    func ticks(at instant: ContinuousClock.Instant, roundingUp: Bool) -> Int64 {
        let (seconds, attoseconds) = (instant - origin).components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return roundingUp && remainder > 0 ? millis + 1 : millis
    }
}
