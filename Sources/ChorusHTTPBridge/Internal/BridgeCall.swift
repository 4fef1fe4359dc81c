import ChorusCore
import NIOCore
import Synchronization

/// One Analyze call seen through the bridge: the events it produced, encoded once as SSE, kept
/// for the clients attached to it and for clients that resume with `Last-Event-ID`.
///
/// The service appends events (as an ``AnalyzeEventSink``); each attached client reads them in
/// order at its own pace. The service waits when it runs more than `maxLag` events ahead of the
/// slowest attached client, so a slow client holds the models back instead of growing memory.
final class BridgeCall: AnalyzeEventSink, Sendable {
    enum Outcome: Sendable {
        case completed
        case failed(ChorusError)
    }

    /// What a client writes next, in one write.
    enum Chunk: Sendable {
        /// Every event available (up to a byte budget), whole and in order: never a partial event.
        case events(ByteBuffer)
        /// The stream was quiet for a heartbeat interval: write `: ping`.
        case heartbeat
        /// The stream's ending: the last events if the call ended with them, an optional
        /// call-level error event, then `data: [DONE]` (one write, so one flush).
        case end([ByteBuffer])
    }

    struct Subscriber {
        let id: UInt64
        var delivered: UInt64
        /// Unsafe (no allocation per wait; a client waits once per batch of events): every resume
        /// first takes it out of the state under the lock, so it is resumed exactly once.
        var waiter: UnsafeContinuation<Void, Never>?
        /// When this client was last sent something (events or a ping).
        var lastActivity: ContinuousClock.Instant
        var heartbeatDue = false
    }

    /// Internal (not private) for the `BridgeCall+…` files; only BridgeCall's own methods touch it.
    struct State {
        var log: [(seq: UInt64, bytes: ByteBuffer)] = []
        var head = 0
        var logBytes = 0
        var lastSeq: UInt64 = 0
        var outcome: Outcome?
        var startWaiters: [CheckedContinuation<ChorusError?, Never>] = []
        var started = false
        /// An array, not a dictionary by id: a call has one client (two while one resumes), and
        /// `dictionary[id]?.field = x` ran the dictionary's `_modify` coroutine, whose frame was
        /// allocated on every use (~55 allocations per SSE call).
        var subscribers: [Subscriber] = []
        var nextSubscriberID: UInt64 = 0
        var everSubscribed = false
        var producers: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextProducerID: UInt64 = 0
        var stopError: ChorusError?
        var cancelWaiter: CheckedContinuation<CancelSignal?, Never>?
        /// Counts the times the last client left or a client attached: a resume grace that started
        /// when the last client left still applies only if nothing happened since.
        var attachGeneration: UInt64 = 0
        /// The last client left (with a resume grace) and the runner has not been told yet.
        var pendingDetach: UInt64?

        var firstRetainedSeq: UInt64 { head < log.count ? log[head].seq : lastSeq + 1 }

        /// Computed on every append and every batch taken, so lazily: `map(...).min()` allocated
        /// an array each time.
        var slowestDelivered: UInt64? { subscribers.lazy.map(\.delivered).min() }

        func subscriberIndex(_ id: UInt64) -> Int? { subscribers.firstIndex { $0.id == id } }
    }

    let requestID: String
    let request: AnalyzeRequest
    private let maxLag: Int
    private let replayMaxBytes: Int
    let state = Mutex(State())

    init(requestID: String, request: AnalyzeRequest, maxLag: Int, replayMaxBytes: Int) {
        self.requestID = requestID
        self.request = request
        self.maxLag = maxLag
        self.replayMaxBytes = replayMaxBytes
    }

    // MARK: Producer (the service)

    func append(_ event: AnalyzeEvent) {
        append(encoded: CollectionOfOne((seq: event.seq, bytes: BridgeCall.encode(event))))
    }

    /// One lock and one wake-up of the clients for the whole batch (a remote chorusd's events
    /// arrive a socket read at a time).
    func append(contentsOf events: [AnalyzeEvent]) {
        append(encoded: events.map { (seq: $0.seq, bytes: BridgeCall.encode($0)) })
    }

    private func append(encoded events: some BidirectionalCollection<(seq: UInt64, bytes: ByteBuffer)>) {
        guard let last = events.last?.seq else { return }
        let (startWaiters, subscriberWaiters) = state.withLock { state -> ([CheckedContinuation<ChorusError?, Never>], [UnsafeContinuation<Void, Never>]) in
            guard state.outcome == nil else { return ([], []) }
            for event in events {
                state.log.append(event)
                state.logBytes += event.bytes.readableBytes
            }
            state.lastSeq = last
            trim(&state)
            var startWaiters: [CheckedContinuation<ChorusError?, Never>] = []
            if !state.started {
                state.started = true
                startWaiters = state.startWaiters
                state.startWaiters = []
            }
            return (startWaiters, takeSubscriberWaiters(&state))
        }
        for waiter in startWaiters { waiter.resume(returning: nil) }
        for waiter in subscriberWaiters { waiter.resume() }
    }

    func waitForCapacity() async throws {
        // Fast path, taken for nearly every event: room and no cancellation means no continuation
        // and no cancellation handler (each cost an allocation and the task's status lock).
        let id = try state.withLock { state throws -> UInt64? in
            if let ready = producerReadiness(state) { try ready.get(); return nil }
            state.nextProducerID += 1
            return state.nextProducerID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready: Result<Void, any Error>? = state.withLock { state in
                    if let ready = producerReadiness(state) { return ready }
                    state.producers[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            state.withLock { $0.producers.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// Whether a producer may go on (success), must stop (the call is being cancelled), or must
    /// wait for the slowest client (nil).
    var hasCapacity: Bool {
        state.withLock { $0.stopError == nil && hasCapacity($0) }
    }

    private func producerReadiness(_ state: State) -> Result<Void, any Error>? {
        if Task.isCancelled || state.stopError != nil { return .failure(CancellationError()) }
        return hasCapacity(state) ? .success(()) : nil
    }

    private func hasCapacity(_ state: State) -> Bool {
        let slowest = state.slowestDelivered ?? (state.everSubscribed ? state.lastSeq : 0)
        return state.lastSeq - min(slowest, state.lastSeq) < UInt64(maxLag)
    }

    /// Records how the call ended and wakes everyone.
    func finish(_ outcome: Outcome) {
        let (startWaiters, subscriberWaiters, producers) = state.withLock { state in
            guard state.outcome == nil else { return ([CheckedContinuation<ChorusError?, Never>](), [UnsafeContinuation<Void, Never>](), [CheckedContinuation<Void, any Error>]()) }
            state.outcome = outcome
            let startWaiters = state.startWaiters
            state.startWaiters = []
            let producers = Array(state.producers.values)
            state.producers = [:]
            return (startWaiters, takeSubscriberWaiters(&state), producers)
        }
        let startError: ChorusError?
        switch outcome {
        case .completed: startError = ChorusError(.internal, "the call ended without any event")
        case .failed(let error): startError = error
        }
        for waiter in startWaiters { waiter.resume(returning: startError) }
        for waiter in subscriberWaiters { waiter.resume() }
        for producer in producers { producer.resume(throwing: CancellationError()) }
    }

    /// Waits for the first event: nil once the stream started, or the error that ended the call
    /// before any event (a bad request), which the bridge answers as plain HTTP.
    func awaitStart() async -> ChorusError? {
        await withCheckedContinuation { continuation in
            let immediate: ChorusError?? = state.withLock { state in
                if state.started { return .some(nil) }
                if case .failed(let error)? = state.outcome { return .some(error) }
                if state.outcome != nil { return .some(ChorusError(.internal, "the call ended without any event")) }
                state.startWaiters.append(continuation)
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    // MARK: Subscribers (HTTP clients)

    /// Attaches a client that has seen every event up to `lastEventID`.
    func subscribe(after lastEventID: UInt64) -> UInt64 {
        state.withLock { state in
            state.nextSubscriberID += 1
            state.everSubscribed = true
            // A client is back: a resume grace running since the last one left no longer applies.
            state.attachGeneration += 1
            state.pendingDetach = nil
            state.subscribers.append(Subscriber(id: state.nextSubscriberID, delivered: lastEventID, lastActivity: .now))
            return state.nextSubscriberID
        }
    }

    /// Detaches a client. Returns true when it was the last one and the call is still running.
    func unsubscribe(_ id: UInt64) -> Bool {
        let (lastGone, producers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, any Error>]) in
            if let index = state.subscriberIndex(id) { state.subscribers.remove(at: index) }
            // The departed client may have been the slowest: producers may have room now.
            let producers = hasCapacity(state) ? Array(state.producers.values) : []
            if !producers.isEmpty { state.producers = [:] }
            return (state.subscribers.isEmpty && state.outcome == nil, producers)
        }
        for producer in producers { producer.resume() }
        return lastGone
    }

    /// The next chunk for subscriber `id`: every event it has not seen yet (up to `maxBytes`,
    /// concatenated so a fast stream costs one write per batch, not per event), a heartbeat, or
    /// the end; waits for the service when there is nothing. Nil when the client disconnected
    /// (``disconnect(_:)``) or the waiting task is cancelled. `afterWake` runs when it had to wait
    /// and was woken, before the events are taken.
    func next(
        for id: UInt64, maxBytes: Int = 64 * 1024, afterWake: (@Sendable () async -> Void)? = nil
    ) async -> Chunk? {
        while true {
            enum Step { case chunk(Chunk, [CheckedContinuation<Void, any Error>]), wait }
            let step: Step? = state.withLock { state in
                guard let index = state.subscriberIndex(id) else { return nil }
                let subscriber = state.subscribers[index]
                let wanted = subscriber.delivered + 1
                if wanted < state.firstRetainedSeq, wanted <= state.lastSeq {
                    let error = ChorusError(
                        .outOfRange,
                        "events after id \(subscriber.delivered) are no longer available (the replay buffer keeps \(replayMaxBytes) bytes); start a new call"
                    )
                    return .chunk(.end([BridgeCall.errorEvent(error), BridgeCall.done]), [])
                }
                if wanted <= state.lastSeq {
                    let batch = takeBatch(from: wanted, maxBytes: maxBytes, state: &state)
                    state.subscribers[index].delivered = batch.last
                    state.subscribers[index].lastActivity = .now
                    state.subscribers[index].heartbeatDue = false
                    trim(&state)
                    var producers: [CheckedContinuation<Void, any Error>] = []
                    if hasCapacity(state), !state.producers.isEmpty {
                        producers = Array(state.producers.values)
                        state.producers = [:]
                    }
                    if batch.last == state.lastSeq, let outcome = state.outcome {
                        // The call is over and these are its last events: send the ending with them.
                        return .chunk(.end([batch.bytes] + BridgeCall.ending(outcome)), producers)
                    }
                    return .chunk(.events(batch.bytes), producers)
                }
                if let outcome = state.outcome {
                    return .chunk(.end(BridgeCall.ending(outcome)), [])
                }
                if subscriber.heartbeatDue {
                    state.subscribers[index].heartbeatDue = false
                    state.subscribers[index].lastActivity = .now
                    return .chunk(.heartbeat, [])
                }
                return .wait
            }
            switch step {
            case nil:
                return nil
            case .chunk(let chunk, let producers):
                for producer in producers { producer.resume() }
                return chunk
            case .wait:
                await withTaskCancellationHandler {
                    await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                        let resumeNow = state.withLock { state -> Bool in
                            guard let index = state.subscriberIndex(id) else { return true }
                            let subscriber = state.subscribers[index]
                            if subscriber.delivered < state.lastSeq || state.outcome != nil || subscriber.heartbeatDue || Task.isCancelled {
                                return true
                            }
                            state.subscribers[index].waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    wake(id)
                }
                if Task.isCancelled { return nil }
                await afterWake?()
            }
        }
    }

    /// Events `first...` from the log, concatenated up to `maxBytes` (at least one event).
    private func takeBatch(from first: UInt64, maxBytes: Int, state: inout State) -> (bytes: ByteBuffer, last: UInt64) {
        let start = state.head + Int(first - state.firstRetainedSeq)
        let single = state.log[start]
        guard start + 1 < state.log.count, single.bytes.readableBytes < maxBytes else { return (single.bytes, single.seq) }
        var end = start
        var total = 0
        while end < state.log.count, total + state.log[end].bytes.readableBytes <= maxBytes || end == start {
            total += state.log[end].bytes.readableBytes
            end += 1
        }
        if end == start + 1 { return (single.bytes, single.seq) }
        var bytes = ByteBufferAllocator().buffer(capacity: total)
        for index in start..<end { bytes.writeImmutableBuffer(state.log[index].bytes) }
        return (bytes, state.log[end - 1].seq)
    }

    /// When subscriber `id` is due a heartbeat if it is sent nothing before; nil once it left.
    func heartbeatDeadline(for id: UInt64, interval: Duration) -> ContinuousClock.Instant? {
        state.withLock { state in state.subscriberIndex(id).map { state.subscribers[$0].lastActivity + interval } }
    }

    /// Wakes subscriber `id` to send a heartbeat when it has been sent nothing for `interval`.
    func heartbeatIfQuiet(_ id: UInt64, interval: Duration) {
        state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard let index = state.subscriberIndex(id), ContinuousClock.now - state.subscribers[index].lastActivity >= interval else { return nil }
            state.subscribers[index].heartbeatDue = true
            defer { state.subscribers[index].waiter = nil }
            return state.subscribers[index].waiter
        }?.resume()
    }

    /// Detaches subscriber `id` because its client went away, waking it if it waits (its
    /// ``next(for:maxBytes:)`` then returns nil). Its pump still calls ``unsubscribe(_:)``.
    func disconnect(_ id: UInt64) {
        state.withLock { state in
            state.subscriberIndex(id).flatMap { state.subscribers.remove(at: $0).waiter }
        }?.resume()
    }

    /// Wakes a waiting subscriber without new data (used when its task is cancelled).
    func wake(_ id: UInt64) {
        state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard let index = state.subscriberIndex(id) else { return nil }
            defer { state.subscribers[index].waiter = nil }
            return state.subscribers[index].waiter
        }?.resume()
    }

    var isFinished: Bool { state.withLock { $0.outcome != nil } }
    var lastSeq: UInt64 { state.withLock { $0.lastSeq } }
    /// Encoded bytes of the events kept for resumption.
    var replayBytes: Int { state.withLock { $0.logBytes } }

    // MARK: Helpers

    /// Drops the oldest events beyond the replay budget, but never one an attached client still needs.
    private func trim(_ state: inout State) {
        // The client that started the call attaches only after the first event: until it has,
        // every event is still owed to it (the producer is held at `maxLag`, so this is bounded).
        guard state.everSubscribed else { return }
        let slowest = state.slowestDelivered ?? state.lastSeq
        while state.logBytes > replayMaxBytes, state.head < state.log.count, state.log[state.head].seq <= slowest {
            state.logBytes -= state.log[state.head].bytes.readableBytes
            state.head += 1
        }
        if state.head > 256 && state.head * 2 > state.log.count {
            state.log.removeFirst(state.head)
            state.head = 0
        }
    }

    private func takeSubscriberWaiters(_ state: inout State) -> [UnsafeContinuation<Void, Never>] {
        var waiters: [UnsafeContinuation<Void, Never>] = []
        for index in state.subscribers.indices {
            if let waiter = state.subscribers[index].waiter {
                waiters.append(waiter)
                state.subscribers[index].waiter = nil
            }
        }
        return waiters
    }
}
