import ChorusCore
import ChorusWire
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One TCP connection to a server: the preface handshake, the read loop that routes frames to
/// calls, the concurrent-call limit the server announced, pings and GOAWAY handling.
final class ClientConnection: Sendable {
    struct State {
        var calls: [UInt32: ClientCall] = [:]
        var nextStreamID: UInt32 = 1
        var maxConcurrentCalls = Int.max
        var activeCalls = 0
        var slotWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var handshake: CheckedContinuation<Void, any Error>?
        var handshakeDone = false
        var goAway: GoAwayMessage?
        var closedError: ChorusError?
        var pings: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var pingCounter: UInt64 = 0
        /// Closed by the client for having been idle: takes no new calls.
        var retired = false
        /// When the last call ended (or the connection opened), while no call runs.
        var idleSince: NIODeadline?
        var idleTimer: Scheduled<Void>?
    }

    let channel: NIOAsyncChannel<[FrameDecoder.Output], Never>
    let writer: FrameWriter
    let target: String
    let configuration: ChorusClient.Configuration
    let logger: Logger
    /// Called when the connection has run no call for `configuration.idleConnectionTimeout`.
    let onIdle: @Sendable (ClientConnection) -> Void
    let state = Mutex(State())

    private init(
        channel: NIOAsyncChannel<[FrameDecoder.Output], Never>,
        writer: FrameWriter,
        target: String,
        configuration: ChorusClient.Configuration,
        logger: Logger,
        onIdle: @escaping @Sendable (ClientConnection) -> Void
    ) {
        self.channel = channel
        self.writer = writer
        self.target = target
        self.configuration = configuration
        self.logger = logger
        self.onIdle = onIdle
    }

    /// Connects, exchanges prefaces and waits for the server's SETTINGS.
    static func connect(
        host: String,
        port: Int,
        configuration: ChorusClient.Configuration,
        group: any EventLoopGroup,
        logger: Logger,
        onIdle: @escaping @Sendable (ClientConnection) -> Void = { _ in }
    ) async throws -> ClientConnection {
        let target = "\(host):\(port)"
        let (asyncChannel, writer): (NIOAsyncChannel<[FrameDecoder.Output], Never>, FrameWriter)
        do {
            (asyncChannel, writer) = try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.microseconds) * 1000))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let writer = FrameWriter(channel: channel)
                        let decoder = FrameDecoder(maxPayloadLength: configuration.maxFramePayload, expectPreface: true)
                        try channel.pipeline.syncOperations.addHandler(FrameBatchDecoder(decoder))
                        try channel.pipeline.syncOperations.addHandler(FrameWriterWritabilityHandler(writer: writer))
                        return (try NIOAsyncChannel<[FrameDecoder.Output], Never>(wrappingChannelSynchronously: channel), writer)
                    }
                }
        } catch {
            throw ChorusError(.unavailable, "cannot connect to \(target): \(error)")
        }
        let connection = ClientConnection(channel: asyncChannel, writer: writer, target: target, configuration: configuration, logger: logger, onIdle: onIdle)
        writer.write { ConnectionPreface.write(into: &$0) }
        // The read loop owns the channel for the connection's lifetime; it ends when the peer closes
        // or `close()` is called, and fails whatever is still running.
        // It runs on the connection's event loop: a socket read and the hand-over of its frames to
        // the calls then happen on one thread, with no hop to the global pool per read.
        Task(executorPreference: EventLoopTaskExecutor(eventLoop: asyncChannel.channel.eventLoop)) {
            await connection.readLoop()
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await connection.waitForHandshake() }
                group.addTask {
                    try await Task.sleep(for: configuration.connectTimeout)
                    throw ChorusError(.unavailable, "\(target) accepted the TCP connection but sent no Chorus preface within \(configuration.connectTimeout)")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            connection.close()
            throw ChorusError(from: error)
        }
        // A connection opened for a call that another connection's freed slot then served may
        // never run one; it idles out like any other.
        connection.noteIdleIfNoCalls()
        return connection
    }

    // MARK: Read loop

    private func readLoop() async {
        var failure = ChorusError(.unavailable, "connection to \(target) closed by the server")
        do {
            try await channel.executeThenClose { inbound in
                for try await batch in inbound {
                    try handle(batch)
                }
            }
        } catch let error as WireError {
            failure = ChorusError(.unavailable, "connection to \(target) failed: \(error.message)")
            if error.kind == .badPreface {
                failure = ChorusError(.unavailable, "\(target) is not a Chorus RPC server: \(error.message)", retryable: false)
            }
            let goAway = GoAwayMessage(lastStreamID: 0, code: error.chorusError.code, message: error.message)
            writer.write { $0.writeFrame(type: .goAway, streamID: 0) { goAway.encode(into: &$0) } }
            writer.close(flushPending: true)
        } catch let error as ChorusError {
            failure = error
        } catch {
            failure = ChorusError(.unavailable, "connection to \(target) failed: \(error)")
        }
        shutdown(with: failure)
    }

    /// Routes one read's frames. Consecutive MESSAGE frames of one stream are handed to their call
    /// together (one lookup and one lock per run instead of per frame); any other frame first
    /// delivers the run, so a CALL_END never overtakes its call's messages.
    private func handle(_ batch: [FrameDecoder.Output]) throws {
        var run: [ByteBuffer] = []
        var runStreamID: UInt32 = 0
        func deliverRun() {
            guard !run.isEmpty else { return }
            if let call = state.withLock({ $0.calls[runStreamID] }) { call.receive(run) }
            run.removeAll(keepingCapacity: true)
        }
        for element in batch {
            guard case .frame(let frame) = element else { continue }
            if frame.type == .message {
                if frame.streamID != runStreamID { deliverRun() }
                runStreamID = frame.streamID
                run.append(frame.payload)
            } else {
                deliverRun()
                try handle(frame)
            }
        }
        deliverRun()
    }

    private func handle(_ frame: Frame) throws {
        switch frame.type {
        case .message:
            if let call = state.withLock({ $0.calls[frame.streamID] }) {
                call.receive([frame.payload])
            }
        case .callEnd:
            let end = try CallEndMessage(decoding: frame.payload)
            let call = state.withLock { $0.calls.removeValue(forKey: frame.streamID) }
            if let call {
                releaseSlot()
                call.finish(end)
            }
        case .settings:
            let settings = try SettingsMessage(decoding: frame.payload)
            let handshake = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                if settings.maxConcurrentCalls > 0 { state.maxConcurrentCalls = Int(settings.maxConcurrentCalls) }
                state.handshakeDone = true
                defer { state.handshake = nil }
                return state.handshake
            }
            handshake?.resume()
            resumeSlotWaiters()
        case .ping:
            let ping = try PingMessage(decoding: frame.payload)
            if frame.flags.contains(.ack) {
                state.withLock { $0.pings.removeValue(forKey: ping.opaque) }?.resume()
            } else {
                writer.write { $0.writeFrame(type: .ping, flags: .ack, streamID: 0) { ping.encode(into: &$0) } }
            }
        case .goAway:
            try handleGoAway(try GoAwayMessage(decoding: frame.payload))
        case .callStart, .cancel, .windowUpdate:
            throw WireError(.protocolViolation, "server sent \(frame.type), which only clients may send")
        default:
            if !frame.type.isExtension {
                throw WireError(.unknownFrameType, "server sent unknown frame type 0x\(String(frame.type.rawValue, radix: 16))")
            }
        }
    }

    private func handleGoAway(_ goAway: GoAwayMessage) throws {
        if goAway.code != .ok {
            // A connection error: the server is about to close; report its reason to every call.
            throw ChorusError(goAway.code, "server closed the connection: \(goAway.message)")
        }
        let refused = state.withLock { state -> [ClientCall] in
            state.goAway = goAway
            let refusedIDs = state.calls.keys.filter { $0 > goAway.lastStreamID }
            return refusedIDs.compactMap { state.calls.removeValue(forKey: $0) }
        }
        logger.debug("server sent GOAWAY", metadata: ["last_stream": "\(goAway.lastStreamID)", "message": "\(goAway.message)"])
        for call in refused {
            releaseSlot()
            call.finish(CallEndMessage(
                code: .unavailable,
                message: "server is draining and did not process this call",
                trailingMetadata: [MetadataEntry(key: CallEndMessage.unprocessedKey, value: "1")]
            ))
        }
        failSlotWaiters(RefusedCall(error: ChorusError(.unavailable, "server is draining this connection")))
    }

    private func shutdown(with error: ChorusError) {
        let (calls, handshake, waiters, pings) = state.withLock { state in
            if state.closedError == nil { state.closedError = error }
            let calls = Array(state.calls.values)
            state.calls = [:]
            let handshake = state.handshake
            state.handshake = nil
            let waiters = state.slotWaiters.map(\.continuation)
            state.slotWaiters = []
            let pings = Array(state.pings.values)
            state.pings = [:]
            state.idleTimer?.cancel()
            state.idleTimer = nil
            return (calls, handshake, waiters, pings)
        }
        writer.close(flushPending: true)
        handshake?.resume(throwing: error)
        for waiter in waiters { waiter.resume(throwing: error) }
        for ping in pings { ping.resume(throwing: error) }
        for call in calls { call.fail(error) }
    }

    /// Closes the connection; running calls fail with UNAVAILABLE.
    func close() {
        let channel = self.channel.channel
        writer.close(flushPending: true)
        channel.eventLoop.execute { channel.close(promise: nil) }
    }

    // MARK: Opening calls

    /// True while new calls may be started here.
    var isUsable: Bool {
        state.withLock { $0.closedError == nil && $0.goAway == nil && !$0.retired && $0.nextStreamID < Frame.maxStreamID - 2 }
    }

    /// Starts a call: waits for a free slot under the server's concurrency limit (unless the caller
    /// holds one from ``tryAcquireSlot()``), then sends CALL_START. With `deliver`, the call's
    /// messages are pushed to it from the read loop (``ClientCall``).
    func startCall(method: String, request: some WireMessage, options: CallOptions, slotHeld: Bool = false, deliver: ClientCall.Deliver? = nil) async throws -> ClientCall {
        if !slotHeld { try await acquireSlot() }
        let window = options.window ?? configuration.callWindow
        let start = CallStartMessage(
            method: method,
            metadata: options.metadata.map { MetadataEntry(key: $0.key.lowercased(), value: $0.value) },
            timeoutMicros: options.timeout.map { max($0.microseconds, 1) } ?? 0,
            initialWindow: UInt32(clamping: window),
            request: request.encoded()
        )
        let result = state.withLock { state -> Result<ClientCall, ChorusError> in
            if let error = state.closedError { return .failure(error) }
            if state.goAway != nil {
                return .failure(ChorusError(.unavailable, "connection is draining"))
            }
            if state.retired { return .failure(ChorusError(.unavailable, "connection closed as idle")) }
            let id = state.nextStreamID
            state.nextStreamID += 2
            let call = ClientCall(connection: self, streamID: id, window: window, deliver: deliver)
            state.calls[id] = call
            // Written under the lock so CALL_STARTs leave in increasing stream-id order.
            writer.write { $0.writeFrame(type: .callStart, streamID: id) { start.encode(into: &$0) } }
            return .success(call)
        }
        switch result {
        case .success(let call): return call
        case .failure(let error):
            releaseSlot()
            // Nothing was sent, so the call can safely go to another connection.
            throw RefusedCall(error: error)
        }
    }

    /// Called by a call that ended locally (cancelled, deadline): tells the server and forgets it.
    func cancel(_ call: ClientCall, reason: String) {
        // The call stays registered (and keeps its concurrency slot) until the server's CALL_END
        // confirms it stopped; freeing the slot earlier would let a new call exceed the server's limit.
        let open = state.withLock { $0.calls[call.streamID] } != nil
        guard open else { return }
        let message = CancelMessage(reason: reason)
        writer.write { $0.writeFrame(type: .cancel, streamID: call.streamID) { message.encode(into: &$0) } }
    }

    func sendWindowUpdate(streamID: UInt32, increment: Int) {
        let update = WindowUpdateMessage(increment: UInt32(clamping: increment))
        writer.write { $0.writeFrame(type: .windowUpdate, streamID: streamID) { update.encode(into: &$0) } }
    }

    /// Round trip of a PING.
    func ping() async throws -> Duration {
        let started = ContinuousClock.now
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let opaque: UInt64? = state.withLock { state in
                if state.closedError != nil { return nil }
                state.pingCounter += 1
                state.pings[state.pingCounter] = continuation
                return state.pingCounter
            }
            guard let opaque else {
                continuation.resume(throwing: ChorusError(.unavailable, "connection closed"))
                return
            }
            writer.write { $0.writeFrame(type: .ping, streamID: 0) { PingMessage(opaque: opaque).encode(into: &$0) } }
        }
        return ContinuousClock.now - started
    }

    private func waitForHandshake() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let immediate: Result<Void, any Error>? = state.withLock { state in
                if let error = state.closedError { return .failure(error) }
                if state.handshakeDone { return .success(()) }
                state.handshake = continuation
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }
}
