import ChorusCore
import ChorusRPCClient
import ChorusRPCServer
import ChorusWire
import NIOCore
import Synchronization
import Testing

/// Every client mistake gets a precise answer, and the server keeps serving everyone else.
@Suite("Bad input over the wire")
struct BadInputTests {
    /// After each abuse, a well-behaved client on another connection must still be served.
    func assertServerStillServes(port: Int) async throws {
        try await withClient(port: port) { client in
            let events = try await collect(client.analyze(AnalyzeRequest(query: "sizes:3")))
            #expect(events.count == 1)
        }
    }

    func goAway(in frames: [Frame]) throws -> GoAwayMessage? {
        try frames.first(where: { $0.type == .goAway }).map { try GoAwayMessage(decoding: $0.payload) }
    }

    @Test("a wrong preface gets the server preface and a GOAWAY explaining it")
    func wrongPreface() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            try await peer.send(Array("HELLO, WORLD".utf8))
            let frames = try await peer.readFramesToEnd()
            let goAway = try #require(try goAway(in: frames))
            #expect(goAway.code == .invalidArgument)
            #expect(goAway.message.contains("bad connection preface"))
            #expect(goAway.message.contains("48 45 4c 4c 4f"))
            try await assertServerStillServes(port: port)
        }
    }

    @Test("an HTTP client gets a readable HTTP 400 rather than binary garbage")
    func httpClient() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            try await peer.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let response = String(buffer: try await peer.readToEnd())
            #expect(response.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
            #expect(response.contains("Chorus binary RPC protocol"))
            try await assertServerStillServes(port: port)
        }
    }

    @Test("an unsupported protocol version is named in the GOAWAY")
    func wrongVersion() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            var preface = ByteBuffer()
            ConnectionPreface.write(into: &preface, version: 2)
            try await peer.send(preface)
            let goAway = try #require(try goAway(in: try await peer.readFramesToEnd()))
            #expect(goAway.code == .unimplemented)
            #expect(goAway.message == "unsupported protocol version 2; this peer speaks chorus protocol version 1")
        }
    }

    @Test("an oversized frame is refused from its header with RESOURCE_EXHAUSTED")
    func oversizedFrame() async throws {
        var configuration = ChorusRPCServer.Configuration()
        configuration.maxFramePayload = 1024
        try await withServer(service: ConformanceService(), configuration: configuration) { _, port in
            let peer = try await RawPeer.connect(port: port)
            try await peer.sendPreface()
            // Announce 1 MiB but send only the header: the server must answer without waiting for the body.
            try await peer.send([0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01])
            let goAway = try #require(try goAway(in: try await peer.readFramesToEnd()))
            #expect(goAway.code == .resourceExhausted)
            #expect(goAway.message == "frame of 1048576 bytes exceeds the maximum frame payload of 1024 bytes")
            try await assertServerStillServes(port: port)
        }
    }

    @Test("an unknown frame type ends the connection with a GOAWAY naming it; extension types are ignored")
    func unknownFrameType() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            try await peer.sendPreface()
            var frames = ByteBuffer()
            frames.writeFrame(Frame(type: FrameType(rawValue: 0x90), streamID: 0, payload: ByteBuffer(bytes: [1, 2, 3])))
            frames.writeFrame(Frame(type: FrameType(rawValue: 0x2A), streamID: 0, payload: ByteBuffer()))
            try await peer.send(frames)
            let goAway = try #require(try goAway(in: try await peer.readFramesToEnd()))
            #expect(goAway.code == .invalidArgument)
            #expect(goAway.message == "unknown frame type 0x2a on stream 0")
            try await assertServerStillServes(port: port)
        }
    }

    @Test("a truncated frame followed by EOF closes that connection only")
    func truncatedFrame() async throws {
        let service = ConformanceService()
        try await withServer(service: service) { server, port in
            let peer = try await RawPeer.connect(port: port)
            try await peer.sendPreface()
            try await peer.send([0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0A, 0x03])
            try await peer.shutdownOutput()
            _ = try await peer.readToEnd()
            try await assertServerStillServes(port: port)
        }
    }

    @Test("CANCEL for a stream that was never opened gets INVALID_ARGUMENT on that stream")
    func cancelUnknownStream() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            defer { peer.close() }
            try await peer.sendPreface()
            try await peer.sendFrame(.cancel, streamID: 99, CancelMessage(reason: "oops"))
            let frames = try await peer.readFrames { $0.type == .callEnd }
            let end = try CallEndMessage(decoding: frames.last!.payload)
            #expect(frames.last!.streamID == 99)
            #expect(end.code == .invalidArgument)
            #expect(end.message == "CANCEL for stream 99, which was never opened on this connection")
        }
    }

    @Test("a reused stream id is a protocol violation")
    func reusedStreamID() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            try await peer.sendPreface()
            let start = CallStartMessage(method: ChorusMethod.analyze, request: AnalyzeRequest(query: "sizes:1").encoded())
            try await peer.sendFrame(.callStart, streamID: 5, start)
            try await peer.sendFrame(.callStart, streamID: 3, start)
            let goAway = try #require(try goAway(in: try await peer.readFramesToEnd()))
            #expect(goAway.message == "CALL_START on stream 3, which is not greater than the previous stream id 5")
        }
    }

    @Test("a malformed request payload gets INVALID_ARGUMENT on its stream and the connection carries on")
    func malformedRequest() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            defer { peer.close() }
            try await peer.sendPreface()
            try await peer.sendFrame(.callStart, streamID: 1, CallStartMessage(method: ChorusMethod.analyze, request: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])))
            try await peer.sendFrame(.callStart, streamID: 3, CallStartMessage(method: ChorusMethod.analyze, request: AnalyzeRequest(query: "sizes:4").encoded()))
            // The two calls run concurrently, so their CALL_ENDs may arrive in either order.
            var ended = Set<UInt32>()
            let frames = try await peer.readFrames { frame in
                if frame.type == .callEnd { ended.insert(frame.streamID) }
                return ended.isSuperset(of: [1, 3])
            }
            let first = try CallEndMessage(decoding: try #require(frames.first { $0.type == .callEnd && $0.streamID == 1 }).payload)
            #expect(first.code == .invalidArgument)
            #expect(first.message == "request is not a valid chorus.v1.AnalyzeRequest message")
            #expect(frames.contains { $0.type == .message && $0.streamID == 3 })
            let second = try #require(frames.first { $0.type == .callEnd && $0.streamID == 3 })
            #expect(try CallEndMessage(decoding: second.payload).code == .ok)
        }
    }

    @Test("too many concurrent calls from a raw client are refused with RESOURCE_EXHAUSTED")
    func tooManyCalls() async throws {
        var configuration = ChorusRPCServer.Configuration()
        configuration.maxConcurrentCallsPerConnection = 2
        try await withServer(service: ConformanceService(), configuration: configuration) { _, port in
            let peer = try await RawPeer.connect(port: port)
            defer { peer.close() }
            try await peer.sendPreface()
            let start = CallStartMessage(method: ChorusMethod.analyze, request: AnalyzeRequest(query: "sleep").encoded())
            for id: UInt32 in [1, 3, 5] { try await peer.sendFrame(.callStart, streamID: id, start) }
            let frames = try await peer.readFrames { $0.type == .callEnd }
            #expect(frames.last!.streamID == 5)
            let end = try CallEndMessage(decoding: frames.last!.payload)
            #expect(end.code == .resourceExhausted)
            #expect(end.message == "too many concurrent calls on this connection: 2 running, the limit is 2")
        }
    }

    @Test("oversized metadata is refused")
    func oversizedMetadata() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                let options = CallOptions(metadata: ["x-big": String(repeating: "a", count: 9000)])
                await #expect(throws: ChorusError.self) {
                    _ = try await collect(client.analyze(AnalyzeRequest(query: "sizes:1"), options: options))
                }
            }
        }
    }

    @Test("connecting to something that is not a Chorus server gives a clear error")
    func notAChorusServer() async throws {
        // A Chorus server speaking to a Chorus client is fine; a port that answers garbage is not.
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                let health = try await client.health()
                #expect(health.status == .serving)
            }
        }
        let client = ChorusClient(host: "127.0.0.1", port: 1)
        defer { client.close() }
        do {
            _ = try await client.health()
            Issue.record("expected a connection error")
        } catch let error as ChorusError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("cannot connect to 127.0.0.1:1"))
        }
    }
}
