import Synchronization

/// Counts what demo providers did, so tests can prove that a model started, finished, failed or saw
/// its cancellation, and wait for it to happen.
///
/// Pass one observer to every ``DemoProvider`` of a registry (``BuiltInRegistry/make(observer:)`` does):
///
/// ```swift
/// let observer = DemoObserver()
/// let registry = BuiltInRegistry.make(observer: observer)
/// // ... start a call and cancel it ...
/// let sawIt = await observer.wait(for: .cancelled, count: 3, timeout: .seconds(5))
/// ```
public final class DemoObserver: Sendable {
    /// Something a demo provider reports.
    public enum Event: Sendable, Hashable, CaseIterable {
        /// `generate` was called.
        case started
        /// The whole answer was written.
        case completed
        /// The provider stopped because its task was cancelled (or a write was refused).
        case cancelled
        /// The provider threw an error (an injected failure, a cut-off, a bad directive).
        case failed
    }

    /// How often each ``Event`` happened.
    public struct Counts: Sendable, Hashable {
        public var started = 0
        public var completed = 0
        public var cancelled = 0
        public var failed = 0

        public init() {}

        public subscript(event: Event) -> Int {
            get {
                switch event {
                case .started: return started
                case .completed: return completed
                case .cancelled: return cancelled
                case .failed: return failed
                }
            }
            set {
                switch event {
                case .started: started = newValue
                case .completed: completed = newValue
                case .cancelled: cancelled = newValue
                case .failed: failed = newValue
                }
            }
        }
    }

    private struct Waiter {
        var id: UInt64
        var predicate: @Sendable (Counts) -> Bool
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var counts = Counts()
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// A snapshot of the counters.
    public var counts: Counts {
        state.withLock { $0.counts }
    }

    /// Counts `event` and wakes the waiters whose condition now holds.
    public func record(_ event: Event) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.counts[event] += 1
            let counts = state.counts
            var ready: [CheckedContinuation<Void, any Error>] = []
            state.waiters.removeAll { waiter in
                guard waiter.predicate(counts) else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Suspends until `predicate` holds for the counters. Throws `CancellationError` when the waiting task
    /// is cancelled first.
    public func wait(until predicate: @escaping @Sendable (Counts) -> Bool) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = state.withLock { state in
                    if predicate(state.counts) { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append(Waiter(id: id, predicate: predicate, continuation: continuation))
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Waits up to `timeout` for `predicate` to hold; returns whether it did.
    public func wait(until predicate: @escaping @Sendable (Counts) -> Bool, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await self.wait(until: predicate)) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Waits up to `timeout` until `event` has happened at least `count` times; returns whether it did.
    public func wait(for event: Event, count: Int, timeout: Duration) async -> Bool {
        await wait(until: { $0[event] >= count }, timeout: timeout)
    }
}
