import Synchronization

/// A bounded hand-off from an ``AnalyzeEventSink`` producer to one async consumer.
///
/// The producer side (the service) appends events and waits for capacity; the consumer iterates.
/// At most `capacity` events are buffered, so a slow consumer holds the producer back instead of
/// growing memory. When the consumer stops iterating (its task is cancelled or the iterator is
/// dropped), waiting producers get a `CancellationError`.
///
/// ```swift
/// let buffer = AnalyzeEventBuffer(capacity: 64)
/// async let run: Void = { defer { buffer.finish() }; try await service.analyze(request, context: ctx, sink: buffer) }()
/// for try await event in buffer { print(event) }
/// ```
public final class AnalyzeEventBuffer: AnalyzeEventSink, AsyncSequence, Sendable {
    public typealias Element = AnalyzeEvent
    public typealias Failure = any Error

    private struct State {
        var events: [AnalyzeEvent] = []
        var head = 0
        var consumer: CheckedContinuation<AnalyzeEvent?, any Error>?
        var producers: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var finished: Result<Void, any Error>?
        var consumerGone = false

        var count: Int { events.count - head }

        mutating func popFirst() -> AnalyzeEvent? {
            guard head < events.count else { return nil }
            let event = events[head]
            head += 1
            // Compact once the consumed prefix dominates, so the array does not grow forever.
            if head >= 64 && head * 2 >= events.count {
                events.removeFirst(head)
                head = 0
            }
            return event
        }
    }

    public let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 256) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    // MARK: Producer

    public func append(_ event: AnalyzeEvent) {
        let consumer: CheckedContinuation<AnalyzeEvent?, any Error>? = state.withLock { state in
            guard state.finished == nil, !state.consumerGone else { return nil }
            if let consumer = state.consumer {
                state.consumer = nil
                return consumer
            }
            state.events.append(event)
            return nil
        }
        consumer?.resume(returning: event)
    }

    public var hasCapacity: Bool {
        state.withLock { !$0.consumerGone && $0.count < capacity }
    }

    public func waitForCapacity() async throws {
        let id: UInt64? = try state.withLock { state in
            if state.consumerGone { throw CancellationError() }
            if state.count < capacity { return nil }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = state.withLock { state in
                    if state.consumerGone || Task.isCancelled { return .failure(CancellationError()) }
                    if state.count < capacity { return .success(()) }
                    state.producers.append((id, continuation))
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.producers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.producers.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Ends the stream: the consumer sees the buffered events, then the end (or `error`).
    public func finish(throwing error: (any Error)? = nil) {
        let (consumer, producers) = state.withLock { state -> (CheckedContinuation<AnalyzeEvent?, any Error>?, [CheckedContinuation<Void, any Error>]) in
            guard state.finished == nil else { return (nil, []) }
            state.finished = error.map { .failure($0) } ?? .success(())
            let consumer = state.consumer
            state.consumer = nil
            let producers = state.producers.map(\.continuation)
            state.producers = []
            return (consumer, producers)
        }
        if let consumer {
            if let error { consumer.resume(throwing: error) } else { consumer.resume(returning: nil) }
        }
        for producer in producers { producer.resume(throwing: CancellationError()) }
    }

    /// Marks the consumer as gone: waiting and future producers fail with `CancellationError`.
    public func cancelConsumer() {
        let producers = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.consumerGone = true
            state.events = []
            state.head = 0
            let producers = state.producers.map(\.continuation)
            state.producers = []
            return producers
        }
        for producer in producers { producer.resume(throwing: CancellationError()) }
    }

    /// Number of buffered events (for tests and metrics).
    public var bufferedCount: Int { state.withLock { $0.count } }

    // MARK: Consumer

    /// Returns the next event, nil at the end of the stream, or throws the stream's error.
    public func next() async throws -> AnalyzeEvent? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<AnalyzeEvent?, any Error>) in
                enum Action {
                    case resume(Result<AnalyzeEvent?, any Error>, [CheckedContinuation<Void, any Error>])
                    case wait
                }
                let action: Action = state.withLock { state in
                    if let event = state.popFirst() {
                        var woken: [CheckedContinuation<Void, any Error>] = []
                        if state.count < capacity, !state.producers.isEmpty {
                            woken = state.producers.map(\.continuation)
                            state.producers = []
                        }
                        return .resume(.success(event), woken)
                    }
                    if state.consumerGone || Task.isCancelled { return .resume(.failure(CancellationError()), []) }
                    switch state.finished {
                    case .success: return .resume(.success(nil), [])
                    case .failure(let error): return .resume(.failure(error), [])
                    case nil:
                        state.consumer = continuation
                        return .wait
                    }
                }
                switch action {
                case .wait:
                    // The buffer is empty, so every waiting producer has room now.
                    let woken = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
                        let woken = state.producers.map(\.continuation)
                        state.producers = []
                        return woken
                    }
                    for producer in woken { producer.resume() }
                case .resume(let result, let woken):
                    for producer in woken { producer.resume() }
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            let consumer = state.withLock { state -> CheckedContinuation<AnalyzeEvent?, any Error>? in
                let consumer = state.consumer
                state.consumer = nil
                return consumer
            }
            consumer?.resume(throwing: CancellationError())
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: AnalyzeEventBuffer

        public mutating func next() async throws -> AnalyzeEvent? {
            try await buffer.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(buffer: self)
    }
}
