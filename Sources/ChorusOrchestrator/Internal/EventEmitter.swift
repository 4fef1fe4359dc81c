import ChorusCore
import Synchronization

/// Stamps events with `seq` and time and appends them to the sink of one call.
///
/// `seq` assignment and `sink.append` happen under one lock so the sink sees events in `seq` order;
/// waiting for capacity happens outside it, so a slow consumer holds back every producer (and through
/// `ModelOutputWriter.write`, every provider) without serialising them on the lock.
///
/// The sink is an existential, not a generic parameter: the transports reach the orchestrator through
/// `any ChorusService`, so a generic call (with ``AnalyzeCall`` and ``ModelRun`` generic over the
/// sink) ran unspecialised, every copy and call through value witnesses and every call looking up
/// its generic types' metadata. Erased here, only the sink's two methods are dynamic.
final class EventEmitter: Sendable {
    private struct State {
        var nextSeq: UInt64 = 1
        /// Set when the sink failed for a reason other than the emitting task's cancellation (the
        /// consumer went away); every later emit fails the same way, so no events follow.
        var failure: (any Error)?
    }

    private let sink: any AnalyzeEventSink
    private let state = Mutex(State())

    init(sink: any AnalyzeEventSink) {
        self.sink = sink
    }

    /// Appends one event and, unless it is the call's last, waits until the consumer has room for more.
    ///
    /// - Parameter last: true for `complete`. Nothing follows it, so there is nothing to hold back, and a
    ///   consumer that stops reading once it has seen `complete` must not keep the call from returning.
    func emit(_ payload: AnalyzeEvent.Payload, last: Bool = false) async throws {
        try append(payload)
        if last { return }
        try await waitForCapacity()
    }

    /// Appends one event without suspending; false when the consumer is behind and the producer must
    /// ``waitForCapacity()`` before its next event (a provider writing from a timer's callback).
    func emitWithoutWaiting(_ payload: AnalyzeEvent.Payload) throws -> Bool {
        try append(payload)
        return sink.hasCapacity
    }

    private func append(_ payload: AnalyzeEvent.Payload) throws {
        try state.withLock { state throws in
            if let failure = state.failure { throw failure }
            let event = AnalyzeEvent(seq: state.nextSeq, timestampMicros: WallClock.nowMicros(), payload: payload)
            state.nextSeq += 1
            sink.append(event)
        }
    }

    /// Waits until the consumer has room for more events.
    func waitForCapacity() async throws {
        do {
            try await sink.waitForCapacity()
        } catch {
            // A cancelled producer (watchdog expiry, call deadline, caller gone) is not the consumer's
            // fault; anything else means the consumer will never read again.
            if !Task.isCancelled {
                state.withLock { state in
                    if state.failure == nil { state.failure = error }
                }
            }
            throw error
        }
    }

    /// The number of events appended so far.
    var emittedCount: UInt64 {
        state.withLock { $0.nextSeq - 1 }
    }
}
