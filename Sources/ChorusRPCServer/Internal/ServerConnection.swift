import ChorusCore
import ChorusWire
import Logging
import NIOCore
import Synchronization

/// One client connection: reads frames, starts and cancels calls, answers pings, drains.
///
/// The read loop runs in the connection's task; each call runs as a child task of the
/// connection's task group, so closing the connection cancels every call it carries.
final class ServerConnection: Sendable {
    struct State {
        var prefaceReceived = false
        var prefaceSent = false
        var calls: [UInt32: ServerCall] = [:]
        var lastStreamID: UInt32 = 0
        var draining = false
        var goAwaySent = false
        var closing = false
        var lastInbound = ContinuousClock.now
        var pendingPing: UInt64?
        var pingCounter: UInt64 = 0
    }

    let server: ChorusRPCServer
    let channel: NIOAsyncChannel<[FrameDecoder.Output], Never>
    let writer: FrameWriter
    let logger: Logger
    let state = Mutex(State())
    var configuration: ChorusRPCServer.Configuration { server.configuration }

    init(server: ChorusRPCServer, channel: NIOAsyncChannel<[FrameDecoder.Output], Never>, writer: FrameWriter) {
        self.server = server
        self.channel = channel
        self.writer = writer
        var logger = server.logger
        logger[metadataKey: "peer"] = "\(channel.channel.remoteAddress.map { "\($0)" } ?? "?")"
        self.logger = logger
    }

    // MARK: Run loop

    func run() async {
        do {
            try await channel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await self.watchPreface() }
                    if let interval = self.configuration.keepaliveInterval {
                        group.addTask { try await self.keepalive(interval: interval) }
                    }
                    if let maxAge = self.configuration.maxConnectionAge {
                        group.addTask {
                            try await CallTimers.sleep(for: maxAge)
                            self.drain(reason: "connection reached its maximum age")
                        }
                    }
                    do {
                        for try await batch in inbound {
                            for element in batch { try self.handle(element, group: &group) }
                        }
                    } catch let error as WireError {
                        self.fail(with: error)
                    }
                    // The peer closed (or we did): nobody is left to read answers, stop every call.
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
        } catch {
            logger.debug("connection ended with error", metadata: ["error": "\(error)"])
        }
        writer.close(flushPending: false)
    }

    private func handle(_ element: FrameDecoder.Output, group: inout ThrowingDiscardingTaskGroup<any Error>) throws {
        switch element {
        case .preface:
            let pendingGoAway = state.withLock { state -> Bool in
                state.prefaceReceived = true
                state.prefaceSent = true
                state.lastInbound = .now
                return state.draining && !state.goAwaySent
            }
            sendPreface()
            if pendingGoAway {
                // The drain started before the peer's preface: announce it and close (no calls can be running).
                sendGoAway(code: .ok, message: "server shutting down")
                close(reason: "drained before the first call")
            }
        case .frame(let frame):
            state.withLock { $0.lastInbound = .now }
            try handle(frame, group: &group)
        }
    }

    private func handle(_ frame: Frame, group: inout ThrowingDiscardingTaskGroup<any Error>) throws {
        switch frame.type {
        case .callStart:
            try startCall(frame, group: &group)
        case .cancel:
            try requireStream(frame)
            let (call, neverOpened) = state.withLock { ($0.calls[frame.streamID], frame.streamID > $0.lastStreamID) }
            if let call {
                let reason = (try? CancelMessage(decoding: frame.payload).reason) ?? ""
                call.signal(.cancelledByClient(reason: reason))
            } else if neverOpened {
                writeCallEnd(
                    streamID: frame.streamID,
                    CallEndMessage(code: .invalidArgument, message: "CANCEL for stream \(frame.streamID), which was never opened on this connection")
                )
            }
        // A cancel for a call that already ended is a normal race and is ignored.
        case .windowUpdate:
            try requireStream(frame)
            let update = try WindowUpdateMessage(decoding: frame.payload)
            state.withLock { $0.calls[frame.streamID] }?.addWindow(Int(update.increment))
        case .ping:
            try requireConnectionLevel(frame)
            let ping = try PingMessage(decoding: frame.payload)
            if frame.flags.contains(.ack) {
                state.withLock { if $0.pendingPing == ping.opaque { $0.pendingPing = nil } }
            } else {
                writer.write { $0.writeFrame(type: .ping, flags: .ack, streamID: 0) { ping.encode(into: &$0) } }
            }
        case .goAway:
            try requireConnectionLevel(frame)
            let goAway = try GoAwayMessage(decoding: frame.payload)
            logger.debug("client sent GOAWAY", metadata: ["code": "\(goAway.code)", "message": "\(goAway.message)"])
        case .settings:
            try requireConnectionLevel(frame)
            _ = try SettingsMessage(decoding: frame.payload)
        case .message, .callEnd:
            throw WireError(.protocolViolation, "\(frame.type) frames are sent by servers only; a client must not send them")
        default:
            guard frame.type.isExtension else {
                throw WireError(.unknownFrameType, "unknown frame type 0x\(String(frame.type.rawValue, radix: 16)) on stream \(frame.streamID)")
            }
        // Extension frames (0x80 and above) are skipped, so future versions can add optional ones.
        }
    }

    private func requireStream(_ frame: Frame) throws {
        guard frame.streamID != 0 else {
            throw WireError(.protocolViolation, "\(frame.type) frame on stream 0; it must name a call's stream")
        }
    }

    private func requireConnectionLevel(_ frame: Frame) throws {
        guard frame.streamID == 0 else {
            throw WireError(.protocolViolation, "\(frame.type) frame on stream \(frame.streamID); it must use stream 0")
        }
    }

    // MARK: Calls

    private func startCall(_ frame: Frame, group: inout ThrowingDiscardingTaskGroup<any Error>) throws {
        try requireStream(frame)
        let id = frame.streamID
        enum Admission { case accept, draining, tooMany(Int), reused(UInt32) }
        let admission = state.withLock { state -> Admission in
            guard id > state.lastStreamID, id % 2 == 1 else { return .reused(state.lastStreamID) }
            state.lastStreamID = id
            if state.draining { return .draining }
            if state.calls.count >= configuration.maxConcurrentCallsPerConnection { return .tooMany(state.calls.count) }
            return .accept
        }
        switch admission {
        case .reused(let last):
            if id % 2 == 0 {
                throw WireError(.protocolViolation, "CALL_START on even stream id \(id); clients must use odd stream ids")
            }
            throw WireError(.protocolViolation, "CALL_START on stream \(id), which is not greater than the previous stream id \(last)")
        case .draining:
            writeCallEnd(streamID: id, CallEndMessage(
                code: .unavailable,
                message: "server is draining and did not process this call; retry on a new connection",
                trailingMetadata: [MetadataEntry(key: CallEndMessage.unprocessedKey, value: "1")]
            ))
            return
        case .tooMany(let count):
            writeCallEnd(streamID: id, CallEndMessage(
                code: .resourceExhausted,
                message: "too many concurrent calls on this connection: \(count) running, the limit is \(configuration.maxConcurrentCallsPerConnection)"
            ))
            return
        case .accept:
            break
        }
        let start: CallStartMessage
        do {
            start = try CallStartMessage(decoding: frame.payload)
        } catch {
            writeCallEnd(streamID: id, CallEndMessage(code: .invalidArgument, message: "malformed CALL_START payload on stream \(id)"))
            return
        }
        if let problem = validate(start) {
            writeCallEnd(streamID: id, CallEndMessage(problem))
            return
        }
        let window = start.initialWindow == 0 ? configuration.defaultCallWindow : Int(start.initialWindow)
        let deadline = start.timeoutMicros > 0
            ? ContinuousClock.now.advanced(by: .microseconds(Int64(clamping: start.timeoutMicros))) : nil
        let call = ServerCall(connection: self, streamID: id, start: start, window: window, deadline: deadline)
        state.withLock { $0.calls[id] = call }
        group.addTask {
            await call.run()
            self.callEnded(id)
        }
    }

    private func validate(_ start: CallStartMessage) -> ChorusError? {
        guard ChorusMethod.all.contains(start.method) else {
            return ChorusError(.unimplemented, "unknown method '\(start.method)'; this server implements \(ChorusMethod.all.joined(separator: ", "))")
        }
        let metadataSize = start.metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 32 }
        guard metadataSize <= configuration.maxMetadataSize else {
            return ChorusError(.resourceExhausted, "call metadata is \(metadataSize) bytes; the limit is \(configuration.maxMetadataSize)")
        }
        if Int(start.initialWindow) > configuration.maxCallWindow {
            return ChorusError(.invalidArgument, "initial_window \(start.initialWindow) exceeds the server maximum of \(configuration.maxCallWindow) bytes")
        }
        return nil
    }

    private func callEnded(_ id: UInt32) {
        let closeNow = state.withLock { state -> Bool in
            state.calls.removeValue(forKey: id)
            return state.draining && state.calls.isEmpty && !state.closing
        }
        if closeNow { close(reason: "drained") }
    }

    func writeCallEnd(streamID: UInt32, _ end: CallEndMessage) {
        writer.write { $0.writeFrame(type: .callEnd, streamID: streamID) { end.encode(into: &$0) } }
    }

    // MARK: Connection-level frames

    private func sendPreface() {
        let settings = SettingsMessage(
            maxConcurrentCalls: UInt32(clamping: configuration.maxConcurrentCallsPerConnection),
            maxFramePayload: UInt32(clamping: configuration.maxFramePayload)
        )
        writer.write { buffer in
            ConnectionPreface.write(into: &buffer)
            buffer.writeFrame(type: .settings, streamID: 0) { settings.encode(into: &$0) }
        }
    }

    private func sendGoAway(code: ChorusError.Code, message: String) {
        let last = state.withLock { state -> UInt32 in
            state.goAwaySent = true
            return state.lastStreamID
        }
        let goAway = GoAwayMessage(lastStreamID: last, code: code, message: message)
        writer.write { $0.writeFrame(type: .goAway, streamID: 0) { goAway.encode(into: &$0) } }
    }

    /// Graceful drain: GOAWAY now, close when the last call ends or the grace period passes.
    func drain(reason: String) {
        let (sendNow, closeNow, calls) = state.withLock { state -> (Bool, Bool, Int) in
            guard !state.draining else { return (false, false, state.calls.count) }
            state.draining = true
            return (state.prefaceSent, state.calls.isEmpty && state.prefaceSent, state.calls.count)
        }
        logger.debug("draining connection", metadata: ["reason": "\(reason)", "calls": "\(calls)"])
        if sendNow { sendGoAway(code: .ok, message: reason) }
        if closeNow {
            close(reason: reason)
            return
        }
        let grace = configuration.drainGracePeriod
        channel.channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(grace.microseconds) * 1000)) {
            let calls = self.state.withLock { Array($0.calls.values) }
            for call in calls { call.signal(.shutdown(grace: grace)) }
        }
    }

    /// A protocol violation: tell the peer why, then close.
    private func fail(with error: WireError) {
        logger.info("closing connection after protocol error", metadata: ["error": "\(error.message)"])
        if error.kind == .badPreface, ConnectionPreface.looksLikeHTTP(error.receivedBytes) {
            let body = "This port speaks the Chorus binary RPC protocol (chorus/\(ConnectionPreface.version)), not HTTP. "
                + "HTTP clients should use the Chorus HTTP bridge.\n"
            writer.write { buffer in
                buffer.writeString("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n")
                buffer.writeString("Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
            }
        } else {
            let needsPreface = state.withLock { state -> Bool in
                defer { state.prefaceSent = true }
                return !state.prefaceSent
            }
            if needsPreface { sendPreface() }
            let chorusError = error.chorusError
            sendGoAway(code: chorusError.code, message: chorusError.message)
        }
        close(reason: "protocol error")
    }

    /// Rejects a connection before it is served (e.g. over the connection limit).
    func reject(code: ChorusError.Code, message: String) {
        state.withLock { $0.prefaceSent = true }
        sendPreface()
        sendGoAway(code: code, message: message)
        close(reason: message)
    }

    func close(reason: String) {
        let alreadyClosing = state.withLock { state -> Bool in
            defer { state.closing = true }
            return state.closing
        }
        guard !alreadyClosing else { return }
        writer.close(flushPending: true)
        let channel = self.channel.channel
        // Queued after the final flush on the same loop, so the GOAWAY goes out first.
        channel.eventLoop.execute { channel.close(promise: nil) }
    }

    private func watchPreface() async throws {
        try await CallTimers.sleep(for: configuration.prefaceTimeout)
        if !state.withLock({ $0.prefaceReceived }) {
            fail(with: WireError(.badPreface, "no connection preface within \(configuration.prefaceTimeout)"))
        }
    }

    private func keepalive(interval: Duration) async throws {
        while true {
            try await CallTimers.sleep(for: interval)
            let ping = state.withLock { state -> UInt64? in
                guard ContinuousClock.now - state.lastInbound >= interval else { return nil }
                state.pingCounter += 1
                state.pendingPing = state.pingCounter
                return state.pingCounter
            }
            guard let ping else { continue }
            writer.write { $0.writeFrame(type: .ping, streamID: 0) { PingMessage(opaque: ping).encode(into: &$0) } }
            try await CallTimers.sleep(for: configuration.keepaliveTimeout)
            if state.withLock({ $0.pendingPing == ping }) {
                logger.info("closing connection: keepalive ping not acknowledged", metadata: ["timeout": "\(configuration.keepaliveTimeout)"])
                sendGoAway(code: .unavailable, message: "keepalive ping not acknowledged within \(configuration.keepaliveTimeout)")
                close(reason: "keepalive timeout")
                return
            }
        }
    }
}
