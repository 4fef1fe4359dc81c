import ChorusCore
import ChorusWire
import NIOCore
import NIOEmbedded
import Testing

@Suite("FrameDecoder")
struct FrameDecoderTests {
    /// A preface followed by frames of several types and sizes, including an empty payload.
    static func sampleStream() -> (ByteBuffer, [FrameDecoder.Output]) {
        var bytes = ByteBuffer()
        ConnectionPreface.write(into: &bytes)
        var expected: [FrameDecoder.Output] = [.preface(version: 1)]
        let frames = [
            Frame(type: .callStart, streamID: 1, payload: CallStartMessage(method: ChorusMethod.analyze, request: AnalyzeRequest(query: "q", models: ["gemini"]).encoded()).encoded()),
            Frame(type: .ping, streamID: 0, payload: PingMessage(opaque: 42).encoded()),
            Frame(type: .message, streamID: 1, payload: ByteBuffer()),
            Frame(type: .windowUpdate, streamID: 3, payload: WindowUpdateMessage(increment: 65_536).encoded()),
            Frame(type: FrameType(rawValue: 0x9A), flags: FrameFlags(rawValue: 0xFF), streamID: 0x7FFF_FFFF, payload: ByteBuffer(repeating: 0xAB, count: 3000)),
        ]
        for frame in frames {
            bytes.writeFrame(frame)
            expected.append(.frame(frame))
        }
        return (bytes, expected)
    }

    static func decodeAll(_ chunks: [ByteBuffer], decoder: FrameDecoder = FrameDecoder()) throws -> [FrameDecoder.Output] {
        var decoder = decoder
        var accumulated = ByteBuffer()
        var output: [FrameDecoder.Output] = []
        for var chunk in chunks {
            accumulated.writeBuffer(&chunk)
            while let next = try decoder.decode(buffer: &accumulated) { output.append(next) }
            accumulated.discardReadBytes()
        }
        if let last = try decoder.decodeLast(buffer: &accumulated, seenEOF: true) { output.append(last) }
        return output
    }

    @Test("all at once")
    func allAtOnce() throws {
        let (bytes, expected) = Self.sampleStream()
        #expect(try Self.decodeAll([bytes]) == expected)
    }

    @Test("byte by byte")
    func byteByByte() throws {
        let (bytes, expected) = Self.sampleStream()
        let chunks = (0..<bytes.readableBytes).map { bytes.getSlice(at: $0, length: 1)! }
        #expect(try Self.decodeAll(chunks) == expected)
    }

    @Test("randomly split", arguments: 0..<25)
    func randomlySplit(seed: Int) throws {
        let (bytes, expected) = Self.sampleStream()
        var generator = SplitMix64(seed: UInt64(seed))
        var chunks: [ByteBuffer] = []
        var offset = 0
        while offset < bytes.readableBytes {
            let length = min(Int(generator.next() % 40) + 1, bytes.readableBytes - offset)
            chunks.append(bytes.getSlice(at: offset, length: length)!)
            offset += length
        }
        #expect(try Self.decodeAll(chunks) == expected)
    }

    @Test("through a ByteToMessageHandler in a channel pipeline")
    func throughPipeline() throws {
        let (bytes, expected) = Self.sampleStream()
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(FrameDecoder()))
        var remaining = bytes
        while remaining.readableBytes > 0 {
            let slice = remaining.readSlice(length: min(7, remaining.readableBytes))!
            try channel.writeInbound(slice)
        }
        var output: [FrameDecoder.Output] = []
        while let next = try channel.readInbound(as: FrameDecoder.Output.self) { output.append(next) }
        #expect(output == expected)
        #expect(try channel.finish().isClean)
    }

    @Test("a payload exactly at the limit is accepted; one byte over is rejected before the body arrives")
    func maximumLength() throws {
        var decoder = FrameDecoder(maxPayloadLength: 100, expectPreface: false)
        var atLimit = ByteBuffer()
        atLimit.writeFrame(Frame(type: .message, streamID: 1, payload: ByteBuffer(repeating: 1, count: 100)))
        #expect(try decoder.decode(buffer: &atLimit) != nil)

        // Only the header of the oversized frame is present: the decoder must not wait for 101 bytes.
        var header = ByteBuffer()
        header.writeInteger(UInt32(101))
        header.writeInteger(FrameType.message.rawValue)
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt32(1))
        #expect {
            try decoder.decode(buffer: &header)
        } throws: { error in
            let wire = error as? WireError
            return wire?.kind == .frameTooLarge && wire?.chorusError.code == .resourceExhausted
                && wire?.message == "frame of 101 bytes exceeds the maximum frame payload of 100 bytes"
        }
    }

    @Test("a 4 GiB length is rejected without allocating")
    func hugeLength() throws {
        var decoder = FrameDecoder(expectPreface: false)
        var header = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01])
        #expect(throws: WireError.self) { try decoder.decode(buffer: &header) }
    }

    @Test("a truncated frame followed by EOF is an error naming the leftover bytes")
    func truncatedThenEOF() throws {
        var decoder = FrameDecoder(expectPreface: false)
        var bytes = ByteBuffer()
        bytes.writeFrame(Frame(type: .message, streamID: 1, payload: ByteBuffer(repeating: 7, count: 20)))
        var truncated = bytes.getSlice(at: 0, length: 15)!
        #expect(try decoder.decode(buffer: &truncated) == nil)
        #expect {
            try decoder.decodeLast(buffer: &truncated, seenEOF: true)
        } throws: { error in
            (error as? WireError)?.kind == .truncatedFrame && "\(error)".contains("15 bytes left over")
        }
    }

    @Test("the reserved stream-id bit is rejected")
    func reservedBit() throws {
        var decoder = FrameDecoder(expectPreface: false)
        var bytes = ByteBuffer(bytes: [0, 0, 0, 0, 0x06, 0, 0x80, 0, 0, 0])
        #expect(throws: WireError.self) { try decoder.decode(buffer: &bytes) }
    }

    @Test("a wrong preface fails on the first wrong byte, with the bytes in the message")
    func badPreface() throws {
        var decoder = FrameDecoder()
        var bytes = ByteBuffer(string: "GET ")
        #expect {
            try decoder.decode(buffer: &bytes)
        } throws: { error in
            guard let wire = error as? WireError else { return false }
            return wire.kind == .badPreface && wire.message.contains("47 45 54 20") && wire.message.contains("not a Chorus RPC endpoint")
                && ConnectionPreface.looksLikeHTTP(wire.receivedBytes)
        }
    }

    @Test("an unsupported version is named")
    func unsupportedVersion() throws {
        var decoder = FrameDecoder()
        var bytes = ByteBuffer()
        ConnectionPreface.write(into: &bytes, version: 9)
        #expect {
            try decoder.decode(buffer: &bytes)
        } throws: { error in
            (error as? WireError)?.kind == .unsupportedVersion && "\(error)".contains("unsupported protocol version 9")
        }
    }

    @Test("a partial preface waits for more bytes")
    func partialPreface() throws {
        var decoder = FrameDecoder()
        var bytes = ByteBuffer(bytes: Array("CHOR".utf8))
        #expect(try decoder.decode(buffer: &bytes) == nil)
        #expect(bytes.readableBytes == 4)
    }

    @Test("the frame header layout is exactly as documented")
    func headerLayout() {
        var bytes = ByteBuffer()
        let written = bytes.writeFrame(type: .ping, flags: .ack, streamID: 0x0102_0304) { $0.writeBytes([0xAA, 0xBB]) }
        #expect(written == 12)
        #expect(bytes.readableBytesView.map { $0 } == [0, 0, 0, 2, 0x06, 0x01, 0x01, 0x02, 0x03, 0x04, 0xAA, 0xBB])
    }
}

/// A small deterministic PRNG so random splits are reproducible from the test's seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
