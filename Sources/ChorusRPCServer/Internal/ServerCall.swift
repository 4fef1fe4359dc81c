import ChorusCore
import ChorusWire
import Logging
import NIOCore
import Synchronization

/// One call on a server connection: runs the method, enforces the deadline, honours CANCEL and
/// flow control, and writes exactly one CALL_END.
final class ServerCall: Sendable {
    /// Why a call stopped early.
    enum Interruption: Sendable {
        case cancelledByClient(reason: String)
        case deadlineExceeded
        case shutdown(grace: Duration)
    }

    /// What ends a call: its method returning (or throwing), or an interruption, whichever comes first.
    private enum Outcome: Sendable {
        case finished((any Error)?)
        case interrupted(Interruption)
    }

    private struct State {
        var window: Int
        /// Every producer (one per model) may be waiting for window at the same time.
        var windowWaiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiterID: UInt64 = 0
        var interruption: Interruption?
        /// The first outcome; later ones are ignored.
        var outcome: Outcome?
        var outcomeWaiter: CheckedContinuation<Outcome, Never>?
        var ended = false

        /// Stores `outcome` if it is the first and hands back the waiter to resume with it.
        mutating func takeWaiter(ifFirst outcome: Outcome) -> CheckedContinuation<Outcome, Never>? {
            guard self.outcome == nil else { return nil }
            self.outcome = outcome
            defer { outcomeWaiter = nil }
            return outcomeWaiter
        }
    }

    let streamID: UInt32
    let start: CallStartMessage
    let deadline: ContinuousClock.Instant?
    private let connection: ServerConnection
    private let state: Mutex<State>

    init(connection: ServerConnection, streamID: UInt32, start: CallStartMessage, window: Int, deadline: ContinuousClock.Instant?) {
        self.connection = connection
        self.streamID = streamID
        self.start = start
        self.deadline = deadline
        self.state = Mutex(State(window: window))
    }

    // MARK: Lifecycle

    func run() async {
        let startedAt = ContinuousClock.now
        var logger = connection.logger
        logger[metadataKey: "rpc.method"] = "\(start.method)"
        logger[metadataKey: "rpc.stream"] = "\(streamID)"
        let context = CallContext(
            metadata: start.metadata.map { (key: $0.key.lowercased(), value: $0.value) },
            deadline: deadline,
            peer: connection.channel.channel.remoteAddress.map { "\($0)" },
            logger: logger
        )
        // The method runs in a child task, so that an interruption can cancel it; this task waits
        // for the first outcome (the method ending, a CANCEL or shutdown from the connection, the
        // deadline), cancels the rest and drains. Waiting here rather than in a second child saves
        // a task per call. No cancellation handler is needed: when this task is cancelled (the
        // connection is going away), the method's task is too, and its ending is an outcome.
        let outcome: Outcome = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await self.invoke(context: context)
                    self.record(.finished(nil))
                } catch {
                    self.record(.finished(error))
                }
            }
            if let deadline {
                group.addTask {
                    // Cancelled (the call ended first): no outcome.
                    guard (try? await CallTimers.sleep(until: deadline)) != nil else { return }
                    self.signal(.deadlineExceeded)
                }
            }
            let outcome = await self.firstOutcome()
            // Whatever came first decides; the rest (including a method being cancelled) is drained.
            group.cancelAll()
            return outcome
        }
        let end: CallEndMessage
        switch outcome {
        case .finished(nil):
            end = CallEndMessage(code: .ok)
        case .finished(let error?):
            end = CallEndMessage(ChorusError(from: error))
        case .interrupted(.cancelledByClient(let reason)):
            end = CallEndMessage(code: .cancelled, message: reason.isEmpty ? "cancelled by the client" : "cancelled by the client: \(reason)")
        case .interrupted(.deadlineExceeded):
            let timeout = Duration.microseconds(Int64(clamping: start.timeoutMicros))
            end = CallEndMessage(code: .deadlineExceeded, message: "deadline of \(timeout) exceeded after \(ContinuousClock.now - startedAt)")
        case .interrupted(.shutdown(let grace)):
            end = CallEndMessage(code: .unavailable, message: "server shutting down: the call did not finish within the \(grace) drain grace period")
        }
        finish(end)
    }

    private func invoke(context: CallContext) async throws {
        let service = connection.server.service
        switch start.method {
        case ChorusMethod.analyze:
            let request: AnalyzeRequest
            do {
                request = try AnalyzeRequest(decoding: start.request)
            } catch {
                throw ChorusError(.invalidArgument, "request is not a valid chorus.v1.AnalyzeRequest message")
            }
            try await service.analyze(request, context: context, sink: ServerCallSink(call: self, writer: connection.writer))
        case ChorusMethod.listModels:
            guard (try? ListModelsRequest(decoding: start.request)) != nil else {
                throw ChorusError(.invalidArgument, "request is not a valid chorus.v1.ListModelsRequest message")
            }
            let response = ListModelsResponse(models: try await service.listModels(context: context))
            writeMessage(response)
        case ChorusMethod.health:
            guard (try? HealthRequest(decoding: start.request)) != nil else {
                throw ChorusError(.invalidArgument, "request is not a valid chorus.v1.HealthRequest message")
            }
            writeMessage(try await service.health(context: context))
        default:
            throw ChorusError(.unimplemented, "unknown method '\(start.method)'")
        }
    }

    // MARK: Interruptions

    func signal(_ interruption: Interruption) {
        let waiter = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard state.interruption == nil, !state.ended else { return nil }
            state.interruption = interruption
            return state.takeWaiter(ifFirst: .interrupted(interruption))
        }
        waiter?.resume(returning: .interrupted(interruption))
        // A producer blocked on flow control must notice too.
        failWindowWaiter(CancellationError())
    }

    /// Records how the method ended, unless an interruption came first.
    private func record(_ outcome: Outcome) {
        state.withLock { $0.takeWaiter(ifFirst: outcome) }?.resume(returning: outcome)
    }

    /// The first outcome, once there is one.
    private func firstOutcome() async -> Outcome {
        await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let outcome = state.withLock { state -> Outcome? in
                if let outcome = state.outcome { return outcome }
                state.outcomeWaiter = continuation
                return nil
            }
            if let outcome { continuation.resume(returning: outcome) }
        }
    }

    // MARK: Writing

    /// Writes one MESSAGE frame unless the call already ended, and charges it to the window.
    func writeMessage(_ message: some WireMessage) {
        state.withLock { state in
            guard !state.ended else { return }
            var written = 0
            connection.writer.write { buffer in
                written = buffer.writeFrame(type: .message, streamID: streamID) { message.encode(into: &$0) }
            }
            state.window -= written
        }
    }

    private func finish(_ end: CallEndMessage) {
        let first = state.withLock { state -> Bool in
            defer { state.ended = true }
            return !state.ended
        }
        guard first else { return }
        connection.writeCallEnd(streamID: streamID, end)
        failWindowWaiter(CancellationError())
    }

    // MARK: Flow control

    func addWindow(_ increment: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.window = min(state.window + increment, Int(Int32.max))
            guard state.window > 0 else { return [] }
            defer { state.windowWaiters = [:] }
            return Array(state.windowWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends while the client has granted no more window for this call.
    func waitForWindow() async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    if state.ended || state.interruption != nil || Task.isCancelled { return .failure(CancellationError()) }
                    if state.window > 0 { return .success(()) }
                    state.windowWaiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            state.withLock { $0.windowWaiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    var hasWindow: Bool { state.withLock { $0.window > 0 } }

    private func failWindowWaiter(_ error: any Error) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            defer { state.windowWaiters = [:] }
            return Array(state.windowWaiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }
}

/// Delivers an Analyze call's events as MESSAGE frames on the call's stream.
struct ServerCallSink: AnalyzeEventSink {
    let call: ServerCall
    let writer: FrameWriter

    func append(_ event: AnalyzeEvent) {
        call.writeMessage(event)
    }

    func waitForCapacity() async throws {
        // Fast path: no suspension while both the call's window and the connection buffer have room.
        if !call.hasWindow { try await call.waitForWindow() }
        try await writer.waitForCapacity()
    }

    var hasCapacity: Bool { call.hasWindow && writer.hasCapacity }
}
