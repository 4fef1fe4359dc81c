@testable import ChorusProviders
import Testing

/// The SSE decoder must give the same events however the bytes are chunked.
@Suite("SSEDecoder")
struct SSEDecoderTests {
    /// Several events with every line ending (LF, CRLF, CR), comments, multi-line data, a field
    /// without a colon, two spaces after the colon, ignored fields, emoji and CJK text.
    static let stream = Array(
        (": a comment line\r\n"
            + "data: first\n\n"
            + "event: update\r\ndata: line one\r\ndata: line two\r\n\r\n"
            + "data: 日本の料理 🍣🎬 👩‍🍳 crème brûlée ✓\r\r"
            + ":keep-alive\n\n"
            + "id: 7\ndata:no space\n\n"
            + "data\n\n"
            + "data:  two spaces\n\n"
            + "retry: 100\nunknown: x\ndata: {\"k\":\"é\"}\n\n"
            + "data: [DONE]\n\n").utf8)

    static let expected: [(event: String?, data: String)] = [
        (nil, "first"),
        ("update", "line one\nline two"),
        (nil, "日本の料理 🍣🎬 👩‍🍳 crème brûlée ✓"),
        (nil, "no space"),
        (nil, ""),
        (nil, " two spaces"),
        (nil, "{\"k\":\"é\"}"),
        (nil, "[DONE]"),
    ]

    private func decode(_ chunks: [ArraySlice<UInt8>]) throws -> [SSEDecoder.Event] {
        var decoder = SSEDecoder()
        var events: [SSEDecoder.Event] = []
        for chunk in chunks { events += try decoder.feed(chunk) }
        #expect(!decoder.hasPartialEvent)
        #expect(decoder.pendingLineBytes == 0)
        return events
    }

    @Test("decodes the whole stream fed at once")
    func allAtOnce() throws {
        let events = try decode([Self.stream[...]])
        #expect(events.map(\.event) == Self.expected.map(\.event))
        #expect(events.map(\.data) == Self.expected.map(\.data))
        #expect(events[3].id == "7")
    }

    @Test("gives identical events fed byte by byte")
    func byteByByte() throws {
        let whole = try decode([Self.stream[...]])
        let bytes = try decode(Self.stream.indices.map { Self.stream[$0...$0] })
        #expect(bytes == whole)
    }

    @Test("gives identical events at 200 random split points")
    func randomSplits() throws {
        let whole = try decode([Self.stream[...]])
        var random = SplitMix64(seed: 0x5EED)
        for _ in 0..<200 {
            let cut = Int.random(in: 1..<Self.stream.count, using: &random)
            let events = try decode([Self.stream[..<cut], Self.stream[cut...]])
            #expect(events == whole, "split at byte \(cut)")
        }
        // And many cuts at once, in 20 seeded runs.
        for _ in 0..<20 {
            var cuts = Set((0..<12).map { _ in Int.random(in: 1..<Self.stream.count, using: &random) })
            cuts.insert(Self.stream.count)
            var start = 0
            var chunks: [ArraySlice<UInt8>] = []
            for cut in cuts.sorted() {
                chunks.append(Self.stream[start..<cut])
                start = cut
            }
            #expect(try decode(chunks) == whole)
        }
    }

    @Test("keeps a partial event until its blank line arrives")
    func partialEvent() throws {
        var decoder = SSEDecoder()
        #expect(try decoder.feed(Array("data: half".utf8)).isEmpty)
        #expect(decoder.pendingLineBytes == 10)
        #expect(try decoder.feed(Array(" done\n".utf8)).isEmpty)
        #expect(decoder.hasPartialEvent)
        #expect(try decoder.feed(Array("\n".utf8)).map(\.data) == ["half done"])
        #expect(!decoder.hasPartialEvent)
    }

    @Test("a line longer than the limit throws")
    func lineTooLong() {
        var decoder = SSEDecoder(maxLineBytes: 16)
        #expect(throws: SSEDecoder.LineTooLong.self) {
            _ = try decoder.feed(Array("data: 0123456789abcdef".utf8))
        }
        var fine = SSEDecoder(maxLineBytes: 16)
        #expect((try? fine.feed(Array("data: 0123456789\n\n".utf8)))?.count == 1)
        // Many short data lines add up to one event: the event is bounded too.
        var many = SSEDecoder(maxLineBytes: 16)
        #expect(throws: SSEDecoder.LineTooLong.self) {
            _ = try many.feed(Array(String(repeating: "data: 01234\n", count: 5).utf8))
        }
    }

    @Test("a byte order mark at the start is ignored, even split across chunks; elsewhere it is data")
    func byteOrderMark() throws {
        let stream: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("data: a\n\n".utf8)
        for split in 0...stream.count {
            var decoder = SSEDecoder()
            let events = try decoder.feed(stream[..<split]) + decoder.feed(stream[split...])
            #expect(events.map(\.data) == ["a"], "split at \(split)")
        }
        var decoder = SSEDecoder()
        let partialBOM = try decoder.feed([0xEF, 0xBB] + Array(":c\ndata: b\n\n".utf8))
        #expect(partialBOM.map(\.data) == ["b"], "a broken BOM makes the first line an unknown field, which is ignored")
        var later = SSEDecoder()
        let inData = try later.feed(Array("data: x".utf8) + [0xEF, 0xBB, 0xBF] + Array("\n\n".utf8))
        #expect(inData.map(\.data) == ["x\u{FEFF}"])
    }
}

/// A small seeded generator so split points are the same on every run.
private struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
