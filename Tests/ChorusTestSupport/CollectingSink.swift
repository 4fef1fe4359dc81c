public import ChorusCore
import Synchronization

/// An ``AnalyzeEventSink`` that records every event, optionally with a bounded capacity to play a slow
/// consumer.
///
/// Without a capacity it never holds producers back. With one, events count as *pending* until the test
/// calls ``drain()``; `waitForCapacity` suspends while `capacity` or more events are pending.
///
/// ```swift
/// let sink = CollectingSink()
/// try await orchestrator.analyze(request, context: CallContext(), sink: sink)
/// #expect(sink.events.last?.eventType == "complete")
/// ```
public final class CollectingSink: AnalyzeEventSink {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var events: [AnalyzeEvent] = []
        var drained = 0
        var maxPending = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var pending: Int { events.count - drained }
    }

    /// Most events that may be pending before producers are held back; nil means unbounded.
    public let capacity: Int?
    /// Whether ``hasCapacity`` tells the truth; when false it is always false, as for a sink that
    /// does not implement it (producers then always call `waitForCapacity`).
    public let reportsCapacity: Bool
    private let state = Mutex(State())

    public init(capacity: Int? = nil, reportsCapacity: Bool = true) {
        precondition(capacity.map { $0 > 0 } ?? true, "capacity must be positive")
        self.capacity = capacity
        self.reportsCapacity = reportsCapacity
    }

    public var hasCapacity: Bool {
        guard reportsCapacity else { return false }
        guard let capacity else { return true }
        return state.withLock { $0.pending < capacity }
    }

    /// Every event appended so far, in append order.
    public var events: [AnalyzeEvent] {
        state.withLock { $0.events }
    }

    /// Events appended but not yet drained.
    public var pendingCount: Int {
        state.withLock { $0.pending }
    }

    /// The highest ``pendingCount`` ever reached.
    public var maxPendingCount: Int {
        state.withLock { $0.maxPending }
    }

    public func append(_ event: AnalyzeEvent) {
        state.withLock { state in
            state.events.append(event)
            state.maxPending = max(state.maxPending, state.pending)
        }
    }

    public func waitForCapacity() async throws {
        guard let capacity else { return try Task.checkCancellation() }
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.pending < capacity { return .success(()) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
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

    /// Marks every event so far as consumed and lets waiting producers continue.
    public func drain() {
        let waiters = state.withLock { state -> [Waiter] in
            state.drained = state.events.count
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Waits up to `timeout` until `predicate` holds for the events; returns whether it did.
    public func wait(timeout: Duration, until predicate: ([AnalyzeEvent]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        // Polling keeps the sink's hot path (append) free of waiter bookkeeping; fine for tests.
        while !predicate(events) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }
}
