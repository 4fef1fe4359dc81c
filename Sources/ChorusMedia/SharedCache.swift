import Synchronization

/// A bounded cache whose misses are computed once, however many callers ask at the same time.
///
/// The first caller for a key starts `produce` in its own task; later callers for the same key
/// wait for that run instead of starting another. Successful results are kept (LRU-bounded);
/// failures are handed to every waiter and forgotten, so the next call tries again.
///
/// A waiter whose task is cancelled stops waiting at once with `CancellationError`; the run goes
/// on for the others. When the last waiter leaves, the run itself is cancelled and forgotten.
///
/// ```swift
/// let cache = SharedCache<String, [VideoFrame]>(capacity: 32)
/// let frames = try await cache.value(for: key) { try await ffmpeg.sampleFrames(from: source, count: 8) }
/// ```
final class SharedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Flight {
        var generation: UInt64
        var waiters: [UInt64: CheckedContinuation<Value, any Error>]
        var task: Task<Void, Never>?
    }

    private struct State {
        var cache: LRUCache<Key, Value>
        var flights: [Key: Flight] = [:]
        var nextID: UInt64 = 0

        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }
    }

    private enum Step {
        case hit(Value), joined, start(generation: UInt64)
    }

    private let state: Mutex<State>

    init(capacity: Int) {
        state = Mutex(State(cache: LRUCache(capacity: capacity)))
    }

    /// The cached value, or the result of the one shared run of `produce` for this key.
    func value(for key: Key, produce: @escaping @Sendable () async throws -> Value) async throws -> Value {
        try Task.checkCancellation()
        let waiterID = state.withLock { $0.makeID() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let step = state.withLock { state -> Step in
                    if let value = state.cache.value(for: key) { return .hit(value) }
                    if state.flights[key] != nil {
                        state.flights[key]?.waiters[waiterID] = continuation
                        return .joined
                    }
                    let generation = state.makeID()
                    state.flights[key] = Flight(generation: generation, waiters: [waiterID: continuation])
                    return .start(generation: generation)
                }
                switch step {
                case .hit(let value):
                    continuation.resume(returning: value)
                    return
                case .joined:
                    break
                case .start(let generation):
                    start(key: key, generation: generation, produce: produce)
                }
                // The cancellation handler may have run before the continuation was registered.
                if Task.isCancelled { leave(key: key, waiterID: waiterID) }
            }
        } onCancel: {
            leave(key: key, waiterID: waiterID)
        }
    }

    /// The value if it is cached (does not wait for a run in flight).
    func cachedValue(for key: Key) -> Value? {
        state.withLock { $0.cache.value(for: key) }
    }

    func removeValue(for key: Key) {
        state.withLock { $0.cache.removeValue(for: key) }
    }

    /// How many values are cached (for tests).
    var count: Int { state.withLock { $0.cache.count } }

    /// How many callers wait for the run for `key` (for tests).
    func waiters(for key: Key) -> Int {
        state.withLock { $0.flights[key]?.waiters.count ?? 0 }
    }

    /// How many runs are in flight (for tests).
    var runsInFlight: Int { state.withLock { $0.flights.count } }

    private func start(key: Key, generation: UInt64, produce: @escaping @Sendable () async throws -> Value) {
        let task = Task {
            let result: Result<Value, any Error>
            do {
                result = .success(try await produce())
            } catch {
                result = .failure(error)
            }
            finish(key: key, generation: generation, result: result)
        }
        let abandoned = state.withLock { state in
            guard state.flights[key]?.generation == generation else { return true }
            state.flights[key]?.task = task
            return false
        }
        // Every waiter left before the handle was stored (or the run already finished).
        if abandoned { task.cancel() }
    }

    private func finish(key: Key, generation: UInt64, result: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            if case .success(let value) = result { state.cache.insert(value, for: key) }
            guard let flight = state.flights[key], flight.generation == generation else { return [] }
            state.flights[key] = nil
            return Array(flight.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    private func leave(key: Key, waiterID: UInt64) {
        let (waiter, orphanedRun) = state.withLock { state -> (CheckedContinuation<Value, any Error>?, Task<Void, Never>?) in
            guard var flight = state.flights[key], let waiter = flight.waiters.removeValue(forKey: waiterID) else {
                return (nil, nil)
            }
            if flight.waiters.isEmpty {
                state.flights[key] = nil
                return (waiter, flight.task)
            }
            state.flights[key] = flight
            return (waiter, nil)
        }
        waiter?.resume(throwing: CancellationError())
        orphanedRun?.cancel()
    }
}
