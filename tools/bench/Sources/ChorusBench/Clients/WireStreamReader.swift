import BenchKit
import ChorusCore
import ChorusWire
import NIOCore
import NIOPosix

/// The many-streams scenario's lean reader: Analyze calls on one connection, read by a channel
/// handler on the connection's event loop instead of a task per call.
///
/// Same protocol as ``ChorusRPCClient/ChorusClient`` (preface, SETTINGS, CALL_START, the server's
/// MESSAGE frames decoded through protobuf-c, WINDOW_UPDATE once half a call's window is consumed,
/// CALL_END), and every event is checked the same way: each call must end OK with `complete` and
/// exactly `expectedTexts` text events. What it leaves out is the client library's per-call
/// machinery (a reader task woken per event, the call's buffer and lock), which costs ~7 µs per
/// event at 1,000 calls. The benchmark client shares the machine's two cores with the server, and
/// at 150k events/s that machinery alone takes most of a core from the server it is measuring.
///
/// ```swift
/// let connection = try await WireStreamConnection.connect(port: port, loop: loop, expectedTexts: 1_800)
/// try await connection.ready.get()
/// connection.start([(query: "call 0", models: ["demo1"], at: .now())])
/// let tally = try await connection.done.get()
/// ```
struct WireStreamConnection: Sendable {
    let channel: any Channel
    let reader: NIOLoopBound<WireStreamReader>
    /// Succeeds when the server's SETTINGS arrived (calls may start).
    let ready: EventLoopFuture<Void>
    /// Succeeds with the connection's tally when every started call has ended.
    let done: EventLoopFuture<DeliveryTally>

    static func connect(port: Int, loop: any EventLoop, expectedTexts: Int, window: Int = 1 << 20) async throws -> WireStreamConnection {
        let ready = loop.makePromise(of: Void.self)
        let done = loop.makePromise(of: DeliveryTally.self)
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(FrameBatchDecoder(FrameDecoder(expectPreface: true)))
                    try channel.pipeline.syncOperations.addHandler(
                        WireStreamReader(expectedTexts: expectedTexts, window: window, ready: ready, done: done))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let reader = try await loop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: WireStreamReader.self), eventLoop: loop)
        }.get()
        return WireStreamConnection(channel: channel, reader: reader, ready: ready.futureResult, done: done.futureResult)
    }

    /// Starts one call per element at its deadline (deadlines in increasing order); text events
    /// received within `window` (Unix µs) are also counted apart.
    func start(_ calls: [(query: String, models: [String], at: NIODeadline)], window: Range<Int64>? = nil) {
        let reader = self.reader
        channel.eventLoop.execute { reader.value.schedule(calls, window: window) }
    }

    func close() {
        channel.close(promise: nil)
    }
}

final class WireStreamReader: ChannelInboundHandler {
    typealias InboundIn = [FrameDecoder.Output]
    typealias OutboundOut = ByteBuffer

    private struct Call {
        var check = ManyStreamsCallCheck()
        var consumedSinceUpdate = 0
    }

    private let expectedTexts: Int
    private let window: Int
    private let ready: EventLoopPromise<Void>
    private let done: EventLoopPromise<DeliveryTally>
    private var context: ChannelHandlerContext?
    private var calls: [UInt32: Call] = [:]
    private var nextStreamID: UInt32 = 1
    private var scheduled = 0
    private var ended = 0
    private var tally = DeliveryTally()
    private var needsFlush = false
    private var finished = false
    private var readyCompleted = false

    init(expectedTexts: Int, window: Int, ready: EventLoopPromise<Void>, done: EventLoopPromise<DeliveryTally>) {
        self.expectedTexts = expectedTexts
        self.window = window
        self.ready = ready
        self.done = done
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: ConnectionPreface.length)
        ConnectionPreface.write(into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        context.fireChannelActive()
    }

    func schedule(_ calls: [(query: String, models: [String], at: NIODeadline)], window: Range<Int64>?) {
        guard let context else { return }
        tally.window = window
        scheduled += calls.count
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        for call in calls {
            let request = AnalyzeRequest(query: call.query, models: call.models)
            context.eventLoop.scheduleTask(deadline: call.at) { bound.value.startCall(request) }
        }
    }

    private func startCall(_ request: AnalyzeRequest) {
        guard let context, !finished else { return }
        let id = nextStreamID
        nextStreamID += 2
        calls[id] = Call()
        let start = CallStartMessage(method: ChorusMethod.analyze, initialWindow: UInt32(window), request: request.encoded())
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeFrame(type: .callStart, streamID: id) { start.encode(into: &$0) }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        for element in unwrapInboundIn(data) {
            guard case .frame(let frame) = element else { continue }
            do {
                try handle(frame, context: context)
            } catch {
                fail(error, context: context)
                return
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
    }

    private func handle(_ frame: Frame, context: ChannelHandlerContext) throws {
        switch frame.type {
        case .message:
            guard var call = calls[frame.streamID] else { return }
            call.check.record(try AnalyzeEvent(decoding: frame.payload), into: &tally)
            call.consumedSinceUpdate += Frame.headerSize + frame.payload.readableBytes
            if call.consumedSinceUpdate >= window / 2 {
                let update = WindowUpdateMessage(increment: UInt32(call.consumedSinceUpdate))
                var buffer = context.channel.allocator.buffer(capacity: 32)
                buffer.writeFrame(type: .windowUpdate, streamID: frame.streamID) { update.encode(into: &$0) }
                context.write(wrapOutboundOut(buffer), promise: nil)
                needsFlush = true
                call.consumedSinceUpdate = 0
            }
            calls[frame.streamID] = call
        case .callEnd:
            let end = try CallEndMessage(decoding: frame.payload)
            guard let call = calls.removeValue(forKey: frame.streamID) else { return }
            let failure = end.code == .ok ? nil : "ended \(end.code): \(end.message)"
            tally.finish(problem: call.check.verdict(failure: failure, expectedTexts: expectedTexts).map { "stream \(frame.streamID): \($0)" })
            ended += 1
            if ended == scheduled, !finished {
                finished = true
                done.succeed(tally)
            }
        case .settings:
            if !readyCompleted {
                readyCompleted = true
                ready.succeed(())
            }
        case .ping where !frame.flags.contains(.ack):
            let ping = try PingMessage(decoding: frame.payload)
            var buffer = context.channel.allocator.buffer(capacity: 32)
            buffer.writeFrame(type: .ping, flags: .ack, streamID: 0) { ping.encode(into: &$0) }
            context.write(wrapOutboundOut(buffer), promise: nil)
            needsFlush = true
        case .goAway:
            let goAway = try GoAwayMessage(decoding: frame.payload)
            throw ChorusError(goAway.code, "server sent GOAWAY: \(goAway.message)")
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ChorusError(.unavailable, "the server closed the connection"), context: context)
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        if !readyCompleted {
            readyCompleted = true
            ready.fail(error)
        }
        if !finished {
            finished = true
            done.fail(error)
        }
        context.close(promise: nil)
    }
}
