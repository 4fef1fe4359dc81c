import Synchronization

/// Paces every demo stream of the process with one timer per millisecond tick.
///
/// A demo model sleeps between chunks. With `Task.sleep` each of those sleeps is its own Dispatch
/// timer: thousands of concurrent demo streams at 50 chunks/s meant 150,000 timer arms per second,
/// and the timer heap cost more CPU than the whole streaming path (many-streams benchmark). Here
/// sleepers wait in per-millisecond buckets and one driver task wakes each due bucket at once.
/// Deadlines are rounded up to the next millisecond; cancelling a sleeper resumes it at once with
/// `CancellationError`, like `Task.sleep`.
///
/// A stream sleeps through a ``Pacer``, which registers one cancellation handler for the whole
/// stream instead of one per sleep (a handler per sleep, with the task status record it adds and
/// removes, was ~8 % of the server's CPU at 150,000 demo chunks/s).
///
/// ```swift
/// try await DemoTicker.shared.withPacer { pacer in
///     for chunk in chunks {
///         try await pacer.sleep(for: .milliseconds(20))
///         try await output.write(chunk)
///     }
/// }
/// ```
final class DemoTicker: Sendable {
    static let shared = DemoTicker()

    /// One stream's way to sleep on the ticker: holds the stream's waiting continuation, so the
    /// stream's single cancellation handler can end whichever sleep is in progress.
    final class Pacer: Sendable {
        private struct State {
            var waiting: CheckedContinuation<Void, any Error>?
            var cancelled = false
        }

        private let ticker: DemoTicker
        private let state = Mutex(State())

        fileprivate init(ticker: DemoTicker) {
            self.ticker = ticker
        }

        /// Sleeps for at least `duration` (rounded up to the next millisecond tick).
        func sleep(for duration: Duration) async throws {
            guard duration > .zero else {
                if state.withLock({ $0.cancelled }) { throw CancellationError() }
                return
            }
            let tick = ticker.ticks(at: ContinuousClock.now + duration, roundingUp: true)
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if state.cancelled { return true }
                    state.waiting = continuation
                    return false
                }
                if cancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    ticker.enqueue(self, at: tick)
                }
            }
        }

        /// Called by the driver when the pacer's tick is due. A cancelled sleep already resumed
        /// (its bucket entry is stale) and is skipped.
        fileprivate func wake() {
            state.withLock { state in
                defer { state.waiting = nil }
                return state.waiting
            }?.resume()
        }

        /// Ends the sleep in progress (if any) and every later one with `CancellationError`.
        fileprivate func cancel() {
            state.withLock { state in
                state.cancelled = true
                defer { state.waiting = nil }
                return state.waiting
            }?.resume(throwing: CancellationError())
        }
    }

    private struct State {
        /// Millisecond tick → pacers due then. A cancelled pacer's entry stays until its tick (its
        /// wake is then a no-op): cheaper than searching the bucket on every cancellation.
        var buckets: [Int64: [Pacer]] = [:]
        var driverRunning = false
        /// The tick the driver is sleeping towards (a sooner sleeper needs it woken).
        var driverTarget: Int64 = .max
        var driverWake: CheckedContinuation<Void, Never>?
        /// Identifies the driver's current wait, so a late timer cannot wake a later one.
        var driverGeneration: UInt64 = 0
    }

    private let state = Mutex(State())
    private let origin = ContinuousClock.now

    /// Runs `body` with a pacer for its sleeps; cancelling the task ends the sleep in progress.
    func withPacer<Result>(_ body: (Pacer) async throws -> Result) async throws -> Result {
        let pacer = Pacer(ticker: self)
        return try await withTaskCancellationHandler {
            try await body(pacer)
        } onCancel: {
            pacer.cancel()
        }
    }

    /// Sleeps for at least `duration` (rounded up to the next millisecond tick): one sleep with its
    /// own cancellation handler. Streams use ``withPacer(_:)``.
    func sleep(for duration: Duration) async throws {
        try await withPacer { try await $0.sleep(for: duration) }
    }

    fileprivate func enqueue(_ pacer: Pacer, at tick: Int64) {
        let (startDriver, wake) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            state.buckets[tick, default: []].append(pacer)
            if !state.driverRunning {
                state.driverRunning = true
                return (true, nil)
            }
            guard tick < state.driverTarget else { return (false, nil) }
            // Sooner than the driver's target: lower it (a driver about to wait sees the change
            // and looks again) and wake a driver already waiting.
            state.driverTarget = tick
            let wake = state.driverWake
            state.driverWake = nil
            return (false, wake)
        }
        if startDriver { Task.detached { await self.drive() } }
        wake?.resume()
    }

    /// Wakes due buckets until no sleeper is left, then ends (a later sleeper starts a new driver).
    private func drive() async {
        while true {
            let now = ticks(at: .now, roundingUp: false)
            enum Next {
                case wake([[Pacer]])
                case wait(Int64)
                case stop
            }
            let next = state.withLock { state -> Next in
                let due = state.buckets.keys.filter { $0 <= now }
                if !due.isEmpty {
                    return .wake(due.map { state.buckets.removeValue(forKey: $0)! })
                }
                guard let soonest = state.buckets.keys.min() else {
                    state.driverRunning = false
                    state.driverTarget = .max
                    return .stop
                }
                state.driverTarget = soonest
                return .wait(soonest)
            }
            switch next {
            case .stop:
                return
            case .wake(let buckets):
                for bucket in buckets {
                    for pacer in bucket { pacer.wake() }
                }
            case .wait(let tick):
                // Sleep until the tick, or until a sooner sleeper arrives and wakes us. The timer
                // is an unstructured task that wakes this wait only if it is still the current one
                // (generation check), so neither wake-up can be lost or resume a later wait.
                let deadline = origin + .milliseconds(tick)
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let generation = state.withLock { state -> UInt64? in
                        // A sooner sleeper arrived since the target was chosen: look again now.
                        guard state.driverTarget == tick else { return nil }
                        state.driverGeneration += 1
                        state.driverWake = continuation
                        return state.driverGeneration
                    }
                    guard let generation else {
                        continuation.resume()
                        return
                    }
                    Task.detached {
                        try? await Task.sleep(until: deadline, clock: .continuous)
                        self.wakeDriver(generation: generation)
                    }
                }
            }
        }
    }

    /// Resumes the driver's wait `generation` if it is still waiting.
    private func wakeDriver(generation: UInt64) {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.driverGeneration == generation, let wake = state.driverWake else { return nil }
            state.driverWake = nil
            return wake
        }?.resume()
    }

    fileprivate func ticks(at instant: ContinuousClock.Instant, roundingUp: Bool) -> Int64 {
        let (seconds, attoseconds) = (instant - origin).components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return roundingUp && remainder > 0 ? millis + 1 : millis
    }
}
