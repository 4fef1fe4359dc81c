import ArgumentParser
import BenchKit
import NIOCore
import NIOHTTP1
import NIOPosix

/// `chorus-bench serve-fake-openai`: a minimal OpenAI Chat Completions streaming endpoint on NIO.
///
/// The gateway-overhead scenario needs an upstream whose own time to first token is small and
/// steady, so the difference between asking it directly and asking it through Chorus is Chorus's
/// cost. (tools/fake_upstream/server.py is the faithful, misbehaving fake for the test suite; a
/// Python server's jitter would drown sub-millisecond differences.) Every
/// `POST /v1/chat/completions` gets `200 text/event-stream` with the role chunk and the first
/// content chunk ("Hello") at once, then after `--rest-delay-ms` the remaining content, the
/// finish chunk, a usage chunk and `data: [DONE]`, in OpenAI's exact chunk format. With
/// `--answer-chunks N` the answer streams like a model instead: N more content chunks, one every
/// `--chunk-interval-ms`, then the finish, usage and `[DONE]`.
struct ServeFakeOpenAI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-fake-openai",
        abstract: "Internal: a minimal streaming OpenAI Chat Completions server on 127.0.0.1 (prints 'LISTENING <port>')."
    )

    @Option(help: "Port (0 picks a free one).") var port = 0
    @Option(help: "Milliseconds between the first content chunk and the rest of the answer.") var restDelayMs = 2
    @Option(help: "Content chunks streamed after the first one, one per --chunk-interval-ms (0: the whole rest at once after --rest-delay-ms).") var answerChunks = 0
    @Option(help: "Milliseconds between streamed content chunks (with --answer-chunks).") var chunkIntervalMs = 50
    @Flag(help: "With --answer-chunks, every content chunk's text is ' @' and the Unix microseconds it was written at, so a reader can time the whole relay (many-streams --provider openai).") var stampChunks = false

    func run() async throws {
        let restDelay = TimeAmount.milliseconds(Int64(restDelayMs))
        let pacing = answerChunks > 0 ? FakeOpenAIHandler.Pacing(chunks: answerChunks, interval: .milliseconds(Int64(chunkIntervalMs)), stamped: stampChunks) : nil
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FakeOpenAIHandler(restDelay: restDelay, pacing: pacing))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        guard let bound = channel.localAddress?.port else { throw BenchError("fake OpenAI server did not bind") }
        ServerProcess.announceAndWatchParent(port: bound)
        try await channel.closeFuture.get()
    }
}

final class FakeOpenAIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// A streamed answer: `chunks` content chunks, one every `interval`.
    struct Pacing {
        var chunks: Int
        var interval: TimeAmount
        /// Content texts are " @<Unix µs written>" instead of fixed words.
        var stamped = false
    }

    private let restDelay: TimeAmount
    private let pacing: Pacing?
    private var head: HTTPRequestHead?

    init(restDelay: TimeAmount, pacing: Pacing? = nil) {
        self.restDelay = restDelay
        self.pacing = pacing
    }

    static func chunk(_ delta: String, finish: String = "null") -> String {
        #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1764115200,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}]}"# + "\n\n"
    }

    static let role = chunk(#"{"role":"assistant","content":"","refusal":null}"#)
    static let first = role + chunk(#"{"content":"Hello"}"#)
    static let rest = [" from", " the", " fake", " upstream", "."].map { chunk(#"{"content":"\#($0)"}"#) }.joined() + end + usageAndDone
    static let word = chunk(#"{"content":" word"}"#)
    static func stamp() -> String { chunk(#"{"content":" @\#(unixMicrosNow())"}"#) }
    static let end = chunk("{}", finish: #""stop""#)
    static let usageAndDone = #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1764115200,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"# + "\n\n"
        + "data: [DONE]\n\n"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard request.method == .POST, request.uri.hasSuffix("/chat/completions") else {
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "63")])
            if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: #"{"error":{"message":"not found","type":"invalid_request_error"}}"#)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        var headers = HTTPHeaders([("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"), ("x-request-id", "req_bench")])
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: .ok, headers: headers))), promise: nil)
        let first = pacing?.stamped == true ? Self.role + Self.stamp() : Self.first
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: first)))), promise: nil)
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        let keepAlive = request.isKeepAlive
        if let pacing {
            streamAnswer(loopBound, remaining: pacing.chunks, interval: pacing.interval, stamped: pacing.stamped, keepAlive: keepAlive)
            return
        }
        context.eventLoop.scheduleTask(in: restDelay) {
            let (handler, context) = loopBound.value
            guard context.channel.isActive else { return }
            context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: Self.rest)))), promise: nil)
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            if !keepAlive { context.close(promise: nil) }
        }
    }

    /// Writes one content chunk every `interval`, then the end of the answer.
    private func streamAnswer(
        _ loopBound: NIOLoopBound<(handler: FakeOpenAIHandler, context: ChannelHandlerContext)>,
        remaining: Int, interval: TimeAmount, stamped: Bool, keepAlive: Bool
    ) {
        let (_, context) = loopBound.value
        context.eventLoop.scheduleTask(in: interval) {
            let (handler, context) = loopBound.value
            guard context.channel.isActive else { return }
            guard remaining == 0 else {
                context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: stamped ? Self.stamp() : Self.word)))), promise: nil)
                handler.streamAnswer(loopBound, remaining: remaining - 1, interval: interval, stamped: stamped, keepAlive: keepAlive)
                return
            }
            context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: Self.end + Self.usageAndDone)))), promise: nil)
            context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
