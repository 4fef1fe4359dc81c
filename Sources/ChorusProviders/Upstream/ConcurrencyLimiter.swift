import Synchronization

/// An async semaphore: at most `limit` upstream requests of one model run at once; the rest wait
/// in arrival order. A waiter whose task is cancelled leaves the queue at once.
///
/// ```swift
/// let limiter = ConcurrencyLimiter(limit: 8)
/// let answer = try await limiter.withPermit { try await callUpstream() }
/// ```
public final class ConcurrencyLimiter: Sendable {
    private struct State {
        var available: Int
        var nextID = 0
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    /// The most permits handed out at once.
    public let limit: Int
    private let state: Mutex<State>

    public init(limit: Int) {
        precondition(limit > 0, "a concurrency limit must be positive")
        self.limit = limit
        self.state = Mutex(State(available: limit))
    }

    /// Permits currently free (for tests and metrics).
    public var available: Int { state.withLock { $0.available } }

    /// Runs `body` holding one permit.
    ///
    /// - Parameter waiting: wraps the wait for the permit, e.g. in `ModelOutputWriter.preparing`,
    ///   so that a call queued behind the model's limit is not taken for a silent model.
    public func withPermit<T: Sendable>(
        waiting: (() async throws -> Void) async throws -> Void = { try await $0() }, _ body: () async throws -> T
    ) async throws -> T {
        var held = false
        do {
            try await waiting {
                try await acquire()
                held = true
            }
        } catch {
            // A wrapper that fails after the permit was granted must not keep it.
            if held { release() }
            throw error
        }
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        try Task.checkCancellation()
        let id: Int? = state.withLock { state in
            if state.available > 0 {
                state.available -= 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case granted, cancelled, queued }
                let outcome: Outcome = state.withLock { state in
                    // A release may have happened between reserving the id and getting here.
                    if state.available > 0 {
                        state.available -= 1
                        return .granted
                    }
                    // The cancellation handler may already have run and found nothing to resume.
                    if Task.isCancelled { return .cancelled }
                    state.waiters.append((id, continuation))
                    return .queued
                }
                switch outcome {
                case .granted: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            // Hand the permit straight to the oldest waiter.
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
