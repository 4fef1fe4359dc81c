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
/// ```swift
/// try await DemoTicker.shared.sleep(for: .milliseconds(20))
/// ```
final class DemoTicker: Sendable {
    static let shared = DemoTicker()

    private struct Sleeper {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        /// Millisecond tick → sleepers due then. A cancelled sleeper is looked up in the bucket of
        /// its own tick (it knows which), so no per-sleeper index is kept.
        var buckets: [Int64: [Sleeper]] = [:]
        var nextID: UInt64 = 0
        var driverRunning = false
        /// The tick the driver is sleeping towards (a sooner sleeper needs it woken).
        var driverTarget: Int64 = .max
        var driverWake: CheckedContinuation<Void, Never>?
        /// Identifies the driver's current wait, so a late timer cannot wake a later one.
        var driverGeneration: UInt64 = 0
    }

    private let state = Mutex(State())
    private let origin = ContinuousClock.now

    /// Sleeps for at least `duration` (rounded up to the next millisecond tick).
    func sleep(for duration: Duration) async throws {
        guard duration > .zero else {
            try Task.checkCancellation()
            return
        }
        let tick = ticks(at: ContinuousClock.now + duration, roundingUp: true)
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (registered, startDriver, wake) = state.withLock { state -> (Bool, Bool, CheckedContinuation<Void, Never>?) in
                    if Task.isCancelled { return (false, false, nil) }
                    state.buckets[tick, default: []].append(Sleeper(id: id, continuation: continuation))
                    if !state.driverRunning {
                        state.driverRunning = true
                        return (true, true, nil)
                    }
                    guard tick < state.driverTarget else { return (true, false, nil) }
                    // Sooner than the driver's target: lower it (a driver about to wait sees the
                    // change and looks again) and wake a driver already waiting.
                    state.driverTarget = tick
                    let wake = state.driverWake
                    state.driverWake = nil
                    return (true, false, wake)
                }
                if !registered {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                if startDriver { Task.detached { await self.drive() } }
                wake?.resume()
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                // Not found: the driver already took it (its resume wins over this one).
                guard let index = state.buckets[tick]?.firstIndex(where: { $0.id == id }) else { return nil }
                let sleeper = state.buckets[tick]!.remove(at: index)
                if state.buckets[tick]!.isEmpty { state.buckets[tick] = nil }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Wakes due buckets until no sleeper is left, then ends (a later sleeper starts a new driver).
    private func drive() async {
        while true {
            let now = ticks(at: .now, roundingUp: false)
            enum Next {
                case wake([[Sleeper]])
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
                    for sleeper in bucket { sleeper.continuation.resume() }
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

    private func ticks(at instant: ContinuousClock.Instant, roundingUp: Bool) -> Int64 {
        let (seconds, attoseconds) = (instant - origin).components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        let remainder = attoseconds % 1_000_000_000_000_000
        return roundingUp && remainder > 0 ? millis + 1 : millis
    }
}
