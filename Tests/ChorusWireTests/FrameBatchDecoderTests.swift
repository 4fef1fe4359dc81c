import ChorusCore
import ChorusWire
import NIOCore
import NIOEmbedded
import Testing

@Suite("FrameBatchDecoder")
struct FrameBatchDecoderTests {
    /// Feeds `chunks` as separate socket reads, each followed by a read-complete when `completeEach`,
    /// otherwise all within one read cycle; returns the batches as delivered.
    static func batches(_ chunks: [ByteBuffer], completeEach: Bool = true, maxBatchSize: Int = 4096) throws -> [[FrameDecoder.Output]] {
        let channel = EmbeddedChannel(handler: FrameBatchDecoder(FrameDecoder(), maxBatchSize: maxBatchSize))
        for chunk in chunks {
            channel.pipeline.fireChannelRead(chunk)
            if completeEach { channel.pipeline.fireChannelReadComplete() }
        }
        if !completeEach { channel.pipeline.fireChannelReadComplete() }
        try channel.throwIfErrorCaught()
        var output: [[FrameDecoder.Output]] = []
        while let batch = try channel.readInbound(as: [FrameDecoder.Output].self) { output.append(batch) }
        #expect(try channel.finish().isClean)
        return output
    }

    static func split(_ bytes: ByteBuffer, lengths: (Int) -> Int) -> [ByteBuffer] {
        var chunks: [ByteBuffer] = []
        var offset = 0
        while offset < bytes.readableBytes {
            let length = min(lengths(offset), bytes.readableBytes - offset)
            chunks.append(bytes.getSlice(at: offset, length: length)!)
            offset += length
        }
        return chunks
    }

    @Test("all at once: one batch holding every frame")
    func allAtOnce() throws {
        let (bytes, expected) = FrameDecoderTests.sampleStream()
        #expect(try Self.batches([bytes]) == [expected])
    }

    @Test("byte by byte: the same frames in order, none split or duplicated")
    func byteByByte() throws {
        let (bytes, expected) = FrameDecoderTests.sampleStream()
        let batches = try Self.batches(Self.split(bytes) { _ in 1 })
        #expect(batches.flatMap { $0 } == expected)
        #expect(batches.allSatisfy { !$0.isEmpty })
    }

    @Test("random splits, delivered per read and per read cycle", arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func randomSplits(seed: UInt64) throws {
        let (bytes, expected) = FrameDecoderTests.sampleStream()
        var generator = SplitMix64(seed: seed)
        let chunks = Self.split(bytes) { _ in Int(generator.next() % 700) + 1 }
        #expect(try Self.batches(chunks).flatMap { $0 } == expected)
        // Many reads in one cycle become one batch.
        #expect(try Self.batches(chunks, completeEach: false) == [expected])
    }

    @Test("a batch is passed on early at maxBatchSize")
    func maxBatchSize() throws {
        var bytes = ByteBuffer()
        var expected: [FrameDecoder.Output] = []
        ConnectionPreface.write(into: &bytes)
        expected.append(.preface(version: 1))
        for index in 0..<10 {
            let frame = Frame(type: .message, streamID: 1, payload: ByteBuffer(string: "event \(index)"))
            bytes.writeFrame(frame)
            expected.append(.frame(frame))
        }
        let batches = try Self.batches([bytes], maxBatchSize: 4)
        #expect(batches.map(\.count) == [4, 4, 3])
        #expect(batches.flatMap { $0 } == expected)
    }

    @Test("an oversized frame fails after the frames before it are delivered; later input is dropped")
    func oversized() throws {
        let channel = EmbeddedChannel(handler: FrameBatchDecoder(FrameDecoder(maxPayloadLength: 16, expectPreface: false)))
        var bytes = ByteBuffer()
        let good = Frame(type: .message, streamID: 1, payload: ByteBuffer(string: "fine"))
        bytes.writeFrame(good)
        bytes.writeFrame(Frame(type: .message, streamID: 1, payload: ByteBuffer(repeating: 0, count: 17)))
        #expect(throws: WireError.self) { try channel.writeInbound(bytes) }
        #expect(try channel.readInbound(as: [FrameDecoder.Output].self) == [.frame(good)])
        var more = ByteBuffer()
        more.writeFrame(good)
        try channel.writeInbound(more)
        #expect(try channel.readInbound(as: [FrameDecoder.Output].self) == nil)
        _ = try? channel.finish()
    }

    @Test("a connection that closes mid-frame fails with truncatedFrame")
    func truncated() throws {
        let channel = EmbeddedChannel(handler: FrameBatchDecoder(FrameDecoder(expectPreface: false)))
        var bytes = ByteBuffer()
        bytes.writeFrame(Frame(type: .message, streamID: 1, payload: ByteBuffer(string: "complete")))
        bytes.writeFrame(Frame(type: .message, streamID: 1, payload: ByteBuffer(string: "cut short")))
        try channel.writeInbound(bytes.getSlice(at: 0, length: bytes.readableBytes - 3)!)
        #expect(try channel.readInbound(as: [FrameDecoder.Output].self)?.count == 1)
        do {
            _ = try channel.finish()
            Issue.record("closing mid-frame did not fail")
        } catch {
            #expect((error as? WireError)?.kind == .truncatedFrame)
        }
    }
}
