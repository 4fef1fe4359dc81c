import ChorusCore
import NIOCore
import Synchronization

/// The concurrent-call limit the server announced in SETTINGS, and the idle clock that lets the
/// client close connections a burst no longer needs.
extension ClientConnection {
    // MARK: Concurrency slots

    /// Takes a call slot if one is free and nobody is queued for one; never waits.
    func tryAcquireSlot() -> Bool {
        state.withLock { state in
            guard state.closedError == nil, state.goAway == nil, !state.retired, state.slotWaiters.isEmpty,
                  state.activeCalls < state.maxConcurrentCalls else { return false }
            state.activeCalls += 1
            return true
        }
    }

    /// Calls running or queued here, to pick the least busy connection to queue on.
    var load: Int { state.withLock { $0.activeCalls + $0.slotWaiters.count } }

    func acquireSlot() async throws {
        let id: UInt64? = try state.withLock { state in
            if let error = state.closedError { throw error }
            // Closed as idle after the client chose it: nothing was sent, so the call goes elsewhere.
            if state.retired { throw RefusedCall(error: ChorusError(.unavailable, "connection closed as idle")) }
            if state.activeCalls < state.maxConcurrentCalls {
                state.activeCalls += 1
                return nil
            }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    if let error = state.closedError { return .failure(error) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.activeCalls < state.maxConcurrentCalls {
                        state.activeCalls += 1
                        return .success(())
                    }
                    state.slotWaiters.append((id, continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.slotWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.slotWaiters.remove(at: index).continuation
            }?.resume(throwing: CancellationError())
        }
    }

    func releaseSlot() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.slotWaiters.isEmpty else {
                state.activeCalls -= 1
                if state.activeCalls == 0 { startIdleClock(&state) }
                return nil
            }
            // Hand the slot straight to the next waiter (activeCalls unchanged).
            return state.slotWaiters.removeFirst().continuation
        }
        next?.resume()
    }

    func resumeSlotWaiters() {
        let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            var ready: [CheckedContinuation<Void, any Error>] = []
            while state.activeCalls < state.maxConcurrentCalls, !state.slotWaiters.isEmpty {
                state.activeCalls += 1
                ready.append(state.slotWaiters.removeFirst().continuation)
            }
            return ready
        }
        for waiter in ready { waiter.resume() }
    }

    func failSlotWaiters(_ error: any Error) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            defer { state.slotWaiters = [] }
            return state.slotWaiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    // MARK: Idle connections

    /// Starts the idle clock of a connection that runs no call (just after the handshake).
    func noteIdleIfNoCalls() {
        state.withLock { state in
            if state.activeCalls == 0, state.slotWaiters.isEmpty { startIdleClock(&state) }
        }
    }

    /// Marks the connection closed for new calls if it still runs none; the client, holding its
    /// own lock, then drops it from its pool. False when a call took a slot in the meantime.
    func retireIfIdle() -> Bool {
        state.withLock { state in
            guard state.closedError == nil, !state.retired, state.activeCalls == 0, state.slotWaiters.isEmpty else { return false }
            state.retired = true
            return true
        }
    }

    /// Records when the last call ended and makes sure one check is scheduled. At most one timer
    /// is pending per connection, so back-to-back calls cost a clock read, not a timer each.
    private func startIdleClock(_ state: inout State) {
        guard let timeout = configuration.idleConnectionTimeout, state.closedError == nil, !state.retired else { return }
        let now = NIODeadline.now()
        state.idleSince = now
        if state.idleTimer == nil { scheduleIdleCheck(at: now + TimeAmount(timeout), &state) }
    }

    private func scheduleIdleCheck(at deadline: NIODeadline, _ state: inout State) {
        state.idleTimer = channel.channel.eventLoop.scheduleTask(deadline: deadline) { [self] in checkIdle() }
    }

    /// The timer fired: hands the connection to the client if it stayed idle for the whole
    /// timeout, waits out the rest if a call ran meanwhile and ended, and stops if one runs now
    /// (its end restarts the clock).
    private func checkIdle() {
        guard let timeout = configuration.idleConnectionTimeout else { return }
        let expired = state.withLock { state -> Bool in
            state.idleTimer = nil
            guard state.closedError == nil, !state.retired, state.activeCalls == 0, state.slotWaiters.isEmpty,
                  let since = state.idleSince else { return false }
            let due = since + TimeAmount(timeout)
            if due > .now() {
                scheduleIdleCheck(at: due, &state)
                return false
            }
            return true
        }
        if expired { onIdle(self) }
    }
}
