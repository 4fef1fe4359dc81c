import ChorusCore
import Synchronization

/// Stopping a running call: at once (the client asked, or left with no resume grace; the drain
/// grace ran out), or when the last client left and none came back within the bridge's resume grace.
///
/// The call's runner (``BridgeCallRegistry``) waits in ``waitForCancelRequest()`` next to the
/// service call; whatever it decides ends the call with that error (CANCELLED, or UNAVAILABLE
/// when the server is shutting down).
extension BridgeCall {
    /// What the call's runner hears in ``waitForCancelRequest()``.
    enum CancelSignal: Sendable {
        /// Stop now, ending the call with this error.
        case stop(ChorusError)
        /// The last client left; stop unless one attaches (``isStillDetached(_:)``) within the
        /// resume grace.
        case detached(generation: UInt64)
    }

    /// Asks the running service call to stop with CANCELLED (its runner is waiting in
    /// ``waitForCancelRequest()``).
    func requestCancel(reason: String) {
        requestStop(ChorusError(.cancelled, reason))
    }

    /// Asks the running service call to stop and end with `error`; the first request wins.
    func requestStop(_ error: ChorusError) {
        let waiter = state.withLock { state -> CheckedContinuation<CancelSignal?, Never>? in
            guard state.outcome == nil, state.stopError == nil else { return nil }
            state.stopError = error
            defer { state.cancelWaiter = nil }
            return state.cancelWaiter
        }
        waiter?.resume(returning: .stop(error))
    }

    /// The last client left a running call that may be resumed: tells the runner to start the
    /// resume grace (a later ``subscribe(after:)`` cancels that grace).
    func lastClientLeft() {
        let (waiter, generation) = state.withLock { state -> (CheckedContinuation<CancelSignal?, Never>?, UInt64) in
            guard state.outcome == nil, state.stopError == nil, state.subscribers.isEmpty else { return (nil, 0) }
            state.attachGeneration += 1
            guard let waiter = state.cancelWaiter else {
                state.pendingDetach = state.attachGeneration
                return (nil, 0)
            }
            state.cancelWaiter = nil
            return (waiter, state.attachGeneration)
        }
        waiter?.resume(returning: .detached(generation: generation))
    }

    /// True when no client attached since the last one left (`generation` of ``CancelSignal/detached(generation:)``).
    func isStillDetached(_ generation: UInt64) -> Bool {
        state.withLock { $0.subscribers.isEmpty && $0.attachGeneration == generation && $0.outcome == nil }
    }

    func waitForCancelRequest() async -> CancelSignal? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<CancelSignal?, Never>) in
                let immediate: CancelSignal?? = state.withLock { state in
                    if let error = state.stopError { return .some(.stop(error)) }
                    if let generation = state.pendingDetach {
                        state.pendingDetach = nil
                        return .some(.detached(generation: generation))
                    }
                    if Task.isCancelled { return .some(nil) }
                    state.cancelWaiter = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            state.withLock { state -> CheckedContinuation<CancelSignal?, Never>? in
                defer { state.cancelWaiter = nil }
                return state.cancelWaiter
            }?.resume(returning: nil)
        }
    }
}
