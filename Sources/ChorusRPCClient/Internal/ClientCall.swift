import ChorusCore
import ChorusWire
import NIOCore
import Synchronization

/// A call was refused before the server processed any of it; safe to retry elsewhere.
struct RefusedCall: Error {
    var error: ChorusError
}

/// The client side of one stream: hands MESSAGE payloads to the application, returns
/// flow-control credit as it consumes them, and ends with the server's CALL_END.
///
/// Two ways to consume:
/// - Pulled (no `deliver`): payloads are buffered until a task takes everything buffered at once
///   (``nextBatch(into:)``): one lock and no suspension per batch instead of per message, which is
///   what lets one call carry hundreds of thousands of events per second.
/// - Pushed (`deliver`): the connection's read loop hands each socket read's payloads to `deliver`
///   as they arrive, and the call's task only wakes once per half window to return credit after
///   the consumer made room (``runPushed(waitForCapacity:)``). A stream whose events arrive one at
///   a time (a model's tokens) then costs no task wake-up per event.
final class ClientCall: Sendable {
    /// Takes the MESSAGE payloads of one socket read on the connection's read loop, in order;
    /// returns the index of the first one it cannot decode (after delivering those before it), nil
    /// when all were fine. Called under the call's lock, so it must not block; nothing is
    /// delivered after the call ended.
    typealias Deliver = @Sendable ([ByteBuffer]) -> Int?

    private struct State {
        var messages = CircularBuffer<ByteBuffer>(initialCapacity: 16)
        /// The application waiting for messages or the end; resumed without a value, it re-checks.
        /// Unsafe (no per-wait allocation, it is taken once per event): every resume takes it out
        /// under the lock first, so it is resumed exactly once.
        var consumer: UnsafeContinuation<Void, Never>?
        var end: Result<Void, any Error>?
        var cancelSent = false
        /// A pushed call handed at least one payload to `deliver` (a refused call is retried only before).
        var delivered = false
        var consumedSinceUpdate = 0
        var deadlineTask: Scheduled<Void>?
    }

    let streamID: UInt32
    let window: Int
    private let connection: ClientConnection
    private let deliver: Deliver?
    private let state = Mutex(State())

    init(connection: ClientConnection, streamID: UInt32, window: Int, deliver: Deliver? = nil) {
        self.connection = connection
        self.streamID = streamID
        self.window = window
        self.deliver = deliver
    }

    // MARK: From the read loop

    /// Buffers (or delivers, when pushed) the MESSAGE payloads of one read, in order.
    func receive(_ payloads: [ByteBuffer]) {
        if let deliver {
            push(payloads, to: deliver)
            return
        }
        let consumer = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard state.end == nil else { return nil }
            state.messages.append(contentsOf: payloads)
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }

    private func push(_ payloads: [ByteBuffer], to deliver: Deliver) {
        var undecodable: Int?
        let waiter = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            guard state.end == nil else { return nil }
            let failedAt = deliver(payloads)
            let handed = payloads[..<(failedAt ?? payloads.count)]
            if !handed.isEmpty { state.delivered = true }
            for payload in handed { state.consumedSinceUpdate += Frame.headerSize + payload.readableBytes }
            if let failedAt {
                undecodable = payloads[failedAt].readableBytes
                return nil
            }
            // The task has nothing to do before half the window is used: it is not woken per event.
            guard state.consumedSinceUpdate >= window / 2 else { return nil }
            defer { state.consumer = nil }
            return state.consumer
        }
        waiter?.resume()
        if let undecodable {
            abandon(reason: "undecodable event", error: ChorusError(.internal, "server sent an undecodable message (\(undecodable) bytes)"))
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
        let (consumer, deadline) = state.withLock { state -> (UnsafeContinuation<Void, Never>?, Scheduled<Void>?) in
            guard state.end == nil else { return (nil, nil) }
            state.end = result
            defer {
                state.consumer = nil
                state.deadlineTask = nil
            }
            return (state.consumer, state.deadlineTask)
        }
        deadline?.cancel()
        consumer?.resume()
    }

    // MARK: Deadline and cancellation

    func scheduleDeadline(after timeout: Duration) {
        let task = connection.channel.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.microseconds) * 1000)) {
            self.connection.cancel(self, reason: "deadline exceeded")
            self.complete(.failure(ChorusError(.deadlineExceeded, "deadline of \(timeout) exceeded")))
        }
        state.withLock { $0.deadlineTask = task }
    }

    /// The application gave up on the call (task cancelled, iterator dropped). Idempotent.
    func cancel(reason: String) {
        abandon(reason: reason, error: CancellationError())
    }

    /// Ends the call locally with `error` and tells the server (a CANCEL frame) unless it ended already.
    func abandon(reason: String, error: any Error) {
        let first = state.withLock { state -> Bool in
            defer { state.cancelSent = true }
            return !state.cancelSent && state.end == nil
        }
        if first { connection.cancel(self, reason: reason) }
        complete(.failure(error))
    }

    var isFinished: Bool { state.withLock { $0.end != nil && $0.messages.isEmpty } }

    /// Whether a pushed call handed any payload over.
    var delivered: Bool { state.withLock { $0.delivered } }

    // MARK: To the application

    /// Moves every buffered MESSAGE payload into `batch` (which must be empty), waiting for at
    /// least one. Returns false after a successful CALL_END with nothing left; throws the call's
    /// error. Messages that arrived before the end are always delivered first.
    func nextBatch(into batch: inout CircularBuffer<ByteBuffer>) async throws -> Bool {
        assert(batch.isEmpty)
        while true {
            if Task.isCancelled { cancel(reason: "the client cancelled the call") }
            enum Taken {
                case messages(credit: Int)
                case ended(Result<Void, any Error>)
                case empty
            }
            let taken = state.withLock { state -> Taken in
                if !state.messages.isEmpty {
                    swap(&state.messages, &batch)
                    var bytes = 0
                    for message in batch { bytes += Frame.headerSize + message.readableBytes }
                    state.consumedSinceUpdate += bytes
                    // Window goes back once half of it was consumed, like HTTP/2 receivers do.
                    guard state.consumedSinceUpdate >= window / 2, state.end == nil else { return .messages(credit: 0) }
                    defer { state.consumedSinceUpdate = 0 }
                    return .messages(credit: state.consumedSinceUpdate)
                }
                if let end = state.end { return .ended(end) }
                return .empty
            }
            switch taken {
            case .messages(let credit):
                if credit > 0 { connection.sendWindowUpdate(streamID: streamID, increment: credit) }
                return true
            case .ended(.success):
                return false
            case .ended(.failure(let error)):
                throw error
            case .empty:
                await waitForMessages()
            }
        }
    }

    /// Runs a pushed call to its end: whenever half the window was delivered, waits until the
    /// consumer has room (`waitForCapacity`), then returns that credit to the server. A slow consumer
    /// therefore holds at most one window of this call beyond its own limit. Returns after a
    /// successful CALL_END; throws the call's error, or `waitForCapacity`'s (then the call is cancelled).
    func runPushed(waitForCapacity: () async throws -> Void) async throws {
        precondition(deliver != nil, "runPushed needs a call started with a deliver closure")
        while true {
            if Task.isCancelled { cancel(reason: "the client cancelled the call") }
            enum Step {
                case credit(Int)
                case ended(Result<Void, any Error>)
                case wait
            }
            let step = state.withLock { state -> Step in
                if let end = state.end { return .ended(end) }
                if state.consumedSinceUpdate >= window / 2 { return .credit(state.consumedSinceUpdate) }
                return .wait
            }
            switch step {
            case .credit(let bytes):
                do {
                    try await waitForCapacity()
                } catch {
                    cancel(reason: "the consumer is gone")
                    throw error
                }
                state.withLock { $0.consumedSinceUpdate -= bytes }
                connection.sendWindowUpdate(streamID: streamID, increment: bytes)
            case .ended(.success):
                return
            case .ended(.failure(let error)):
                throw error
            case .wait:
                await waitForMessages()
            }
        }
    }

    private func waitForMessages() async {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.messages.isEmpty || state.end != nil || Task.isCancelled { return true }
                    if deliver != nil, state.consumedSinceUpdate >= window / 2 { return true }
                    state.consumer = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.cancel(reason: "the client cancelled the call")
        }
    }
}

/// Reads a call's messages one at a time from batches taken with ``ClientCall/nextBatch(into:)``.
struct ClientCallReader {
    let call: ClientCall
    private var pending = CircularBuffer<ByteBuffer>(initialCapacity: 64)

    init(call: ClientCall) {
        self.call = call
    }

    /// The next MESSAGE payload, nil after a successful CALL_END, or the call's error.
    mutating func next() async throws -> ByteBuffer? {
        if let message = pending.popFirst() { return message }
        guard try await call.nextBatch(into: &pending) else { return nil }
        return pending.popFirst()
    }
}
