import ChorusCore
import ChorusRPCClient
import ChorusTestSupport
import ChorusWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// `ChorusClient.analyze(_:context:sink:)`: events pushed into the sink from the connection's read
/// loop, the calling task woken only for flow-control credit and the end.
@Suite("Client: events pushed into a sink")
struct SinkClientTests {
    @Test("the sink gets exactly the events iterating gets, in order")
    func sameEventsAsIterating() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                let query = "sizes:1,0,300,70000 flood:3000"
                let iterated = try await collect(client.analyze(AnalyzeRequest(query: query)))
                let sink = CollectingSink()
                try await client.analyze(AnalyzeRequest(query: query), context: CallContext(), sink: sink)
                #expect(iterated.count == 3004)
                #expect(sink.events == iterated)
            }
        }
    }

    @Test("a sink that stops making room holds the server back after one window; nothing is lost")
    func slowSinkBounded() async throws {
        let service = ConformanceService()
        let window = 64 * 1024
        try await withServer(service: service) { _, port in
            try await withClient(port: port, configuration: ChorusClient.Configuration(callWindow: window)) { client in
                let sink = CollectingSink(capacity: 10)
                let call = Task { try await client.analyze(AnalyzeRequest(query: "flood:20000"), context: CallContext(), sink: sink) }
                // Production must stop while the sink has no room: wait (bounded) until it does.
                var stalled = -1
                for _ in 0..<50 {
                    let before = service.observations.withLock { $0.produced }
                    try await Task.sleep(for: .milliseconds(200))
                    if service.observations.withLock({ $0.produced }) == before, before > 0 {
                        stalled = before
                        break
                    }
                }
                #expect(stalled > 0, "production never stopped while the sink had no room")
                // One window of ~40-byte frames, plus the events the server buffers before it stops.
                #expect(stalled < window / 30 + 10, "produced \(stalled) events with a \(window)-byte window")
                #expect(sink.events.count <= stalled)
                // Make room until the call ends: everything arrives, in order, once.
                let drainer = Task {
                    while !Task.isCancelled {
                        sink.drain()
                        try? await Task.sleep(for: .milliseconds(1))
                    }
                }
                defer { drainer.cancel() }
                try await call.value
                #expect(sink.events.map(\.seq) == Array(1...20000))
            }
        }
    }

    @Test("cancelling the task cancels the call on the server; nothing reaches the sink afterwards")
    func cancellation() async throws {
        let service = ConformanceService()
        try await withServer(service: service) { _, port in
            try await withClient(port: port) { client in
                let sink = CollectingSink()
                let call = Task { try await client.analyze(AnalyzeRequest(query: "interval:2 flood:100000"), context: CallContext(), sink: sink) }
                #expect(await sink.wait(timeout: .seconds(5)) { $0.count >= 5 })
                call.cancel()
                await #expect(throws: CancellationError.self) { try await call.value }
                let countAtReturn = sink.events.count
                #expect(try await service.wait { $0.cancelled == 1 }.cancelled == 1)
                try await Task.sleep(for: .milliseconds(50))
                #expect(sink.events.count == countAtReturn)
            }
        }
    }

    @Test("a server status ends the call with that error, after the events sent before it")
    func serverError() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                let sink = CollectingSink()
                do {
                    try await client.analyze(AnalyzeRequest(query: "sizes:1,2,3 status:5:no model named x"), context: CallContext(), sink: sink)
                    Issue.record("expected the server's status")
                } catch let error as ChorusError {
                    #expect(error.code == .notFound)
                    #expect(error.message == "no model named x")
                }
                #expect(sink.events.map(\.seq) == [1, 2, 3])
            }
        }
    }

    @Test("a context deadline ends the call with DEADLINE_EXCEEDED and stops the server's work")
    func deadline() async throws {
        let service = ConformanceService()
        try await withServer(service: service) { _, port in
            try await withClient(port: port) { client in
                let context = CallContext(deadline: .now + .milliseconds(200))
                do {
                    try await client.analyze(AnalyzeRequest(query: "sizes:1 sleep"), context: context, sink: CollectingSink())
                    Issue.record("expected DEADLINE_EXCEEDED")
                } catch let error as ChorusError {
                    #expect(error.code == .deadlineExceeded)
                }
                #expect(try await service.wait { $0.cancelled == 1 }.cancelled == 1)
            }
        }
    }

    @Test("an undecodable event ends the call with INTERNAL and sends CANCEL, pushed or iterated", arguments: [true, false])
    func undecodableEvent(pushed: Bool) async throws {
        let server = try await GarbageServer.start()
        defer { server.close() }
        let client = ChorusClient(host: "127.0.0.1", port: server.port)
        defer { client.close() }
        let sink = CollectingSink()
        do {
            if pushed {
                try await client.analyze(AnalyzeRequest(query: "q"), context: CallContext(), sink: sink)
            } else {
                for try await event in client.analyze(AnalyzeRequest(query: "q")) { sink.append(event) }
            }
            Issue.record("expected INTERNAL")
        } catch let error as ChorusError {
            #expect(error.code == .internal)
            #expect(error.message.contains("undecodable"))
        }
        #expect(sink.events.map(\.seq) == [1])
        #expect(try await server.cancelReason.value == "undecodable event")
    }
}

/// A server that accepts one connection, answers its first call with one good event and then a
/// MESSAGE that is not an `AnalyzeEvent`, and reports the reason of the CANCEL it gets back.
private final class GarbageServer: Sendable {
    let port: Int
    let cancelReason: Task<String, any Error>
    private let listener: any Channel

    private init(port: Int, listener: any Channel, cancelReason: Task<String, any Error>) {
        self.port = port
        self.listener = listener
        self.cancelReason = cancelReason
    }

    static func start() async throws -> GarbageServer {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = listener.channel.localAddress!.port!
        let cancelReason = Task {
            try await listener.executeThenClose { connections in
                for try await connection in connections {
                    return try await serve(connection)
                }
                throw ChorusError(.unavailable, "no connection")
            }
        }
        return GarbageServer(port: port, listener: listener.channel, cancelReason: cancelReason)
    }

    private static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws -> String {
        try await connection.executeThenClose { inbound, outbound in
            var out = ConnectionPreface.bytes
            out.writeFrame(type: .settings, streamID: 0) { SettingsMessage().encode(into: &$0) }
            try await outbound.write(out)
            var decoder = FrameDecoder(expectPreface: true)
            var pending = ByteBuffer()
            for try await var chunk in inbound {
                pending.writeBuffer(&chunk)
                while let output = try decoder.decode(buffer: &pending) {
                    guard case .frame(let frame) = output else { continue }
                    switch frame.type {
                    case .callStart:
                        var reply = ByteBuffer()
                        let good = AnalyzeEvent(seq: 1, timestampMicros: 0, payload: .textGeneration(TextGeneration(model: "m", text: "ok")))
                        reply.writeFrame(type: .message, streamID: frame.streamID) { good.encode(into: &$0) }
                        reply.writeFrame(type: .message, streamID: frame.streamID) { $0.writeBytes([0xFF, 0xFF, 0xFF]) }
                        try await outbound.write(reply)
                    case .cancel:
                        return try CancelMessage(decoding: frame.payload).reason
                    default:
                        continue
                    }
                }
            }
            throw ChorusError(.unavailable, "the client closed without CANCEL")
        }
    }

    func close() {
        listener.close(promise: nil)
        cancelReason.cancel()
    }
}
