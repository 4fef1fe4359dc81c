import ChorusCore
import ChorusWire
import NIOCore
import Synchronization

/// A call was refused before the server processed any of it; safe to retry elsewhere.
struct RefusedCall: Error {
    var error: ChorusError
}

/// The client side of one stream: buffers MESSAGE payloads until the application reads them,
/// returns flow-control credit as it does, and ends with the server's CALL_END.
final class ClientCall: Sendable {
    private struct State {
        var messages = CircularBuffer<ByteBuffer>(initialCapacity: 16)
        var consumer: CheckedContinuation<ByteBuffer?, any Error>?
        var end: Result<Void, any Error>?
        var consumedSinceUpdate = 0
        var deadlineTask: Scheduled<Void>?
    }

    let streamID: UInt32
    let window: Int
    private let connection: ClientConnection
    private let state = Mutex(State())

    init(connection: ClientConnection, streamID: UInt32, window: Int) {
        self.connection = connection
        self.streamID = streamID
        self.window = window
    }

    // MARK: From the read loop

    func receive(_ payload: ByteBuffer) {
        let consumer = state.withLock { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard state.end == nil else { return nil }
            if let consumer = state.consumer {
                state.consumer = nil
                return consumer
            }
            state.messages.append(payload)
            return nil
        }
        if let consumer {
            credit(payload)
            consumer.resume(returning: payload)
        }
    }

    func finish(_ end: CallEndMessage) {
        if end.isUnprocessed, let error = end.error {
            complete(.failure(RefusedCall(error: error)))
        } else if let error = end.error {
            complete(.failure(error))
        } else {
            complete(.success(()))
        }
    }

    func fail(_ error: ChorusError) {
        complete(.failure(error))
    }

    private func complete(_ result: Result<Void, any Error>) {
        let (consumer, deadline) = state.withLock { state -> (CheckedContinuation<ByteBuffer?, any Error>?, Scheduled<Void>?) in
            guard state.end == nil else { return (nil, nil) }
            state.end = result
            defer {
                state.consumer = nil
                state.deadlineTask = nil
            }
            return (state.consumer, state.deadlineTask)
        }
        deadline?.cancel()
        // A waiting consumer means the buffer is empty, so the end is next in line.
        if let consumer {
            switch result {
            case .success: consumer.resume(returning: nil)
            case .failure(let error): consumer.resume(throwing: error)
            }
        }
    }

    // MARK: Deadline and cancellation

    func scheduleDeadline(after timeout: Duration) {
        let task = connection.channel.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.microseconds) * 1000)) {
            self.connection.cancel(self, reason: "deadline exceeded")
            self.complete(.failure(ChorusError(.deadlineExceeded, "deadline of \(timeout) exceeded")))
        }
        state.withLock { $0.deadlineTask = task }
    }

    /// The application gave up on the call (task cancelled, iterator dropped).
    func cancel(reason: String) {
        connection.cancel(self, reason: reason)
        complete(.failure(CancellationError()))
    }

    var isFinished: Bool { state.withLock { $0.end != nil && $0.messages.isEmpty } }

    // MARK: To the application

    /// The next MESSAGE payload, nil after a successful CALL_END, or the call's error.
    func next() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                let immediate: Result<ByteBuffer?, any Error>? = state.withLock { state in
                    if let message = state.messages.popFirst() { return .success(message) }
                    switch state.end {
                    case .success: return .success(nil)
                    case .failure(let error): return .failure(error)
                    case nil:
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state.consumer = continuation
                        return nil
                    }
                }
                if let immediate {
                    if case .success(let message?) = immediate { credit(message) }
                    continuation.resume(with: immediate)
                }
            }
        } onCancel: {
            self.cancel(reason: "the client cancelled the call")
        }
    }

    /// Returns window to the server once half of it has been consumed, like HTTP/2 receivers do.
    private func credit(_ payload: ByteBuffer) {
        let increment = state.withLock { state -> Int in
            state.consumedSinceUpdate += Frame.headerSize + payload.readableBytes
            guard state.consumedSinceUpdate >= window / 2, state.end == nil else { return 0 }
            defer { state.consumedSinceUpdate = 0 }
            return state.consumedSinceUpdate
        }
        if increment > 0 { connection.sendWindowUpdate(streamID: streamID, increment: increment) }
    }
}
