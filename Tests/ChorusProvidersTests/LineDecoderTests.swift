@testable import ChorusProviders
import Testing

/// The NDJSON splitter must give the same lines however the bytes are chunked.
@Suite("LineDecoder")
struct LineDecoderTests {
    /// Lines with 2-, 3- and 4-byte UTF-8, a ZWJ sequence, LF and CRLF endings, blank lines
    /// (LF and CRLF), a bare CR inside a line, and U+2028 (a line end for some readers, not NDJSON).
    static let stream = Array(
        ("{\"event_type\":\"stream_start\"}\n"
            + "{\"text\":\"Résumé 日本の料理 🍣🎬 👩‍🍳\"}\r\n"
            + "\n"
            + "\r\n"
            + "{\"text\":\"a\rb\u{2028}c\"}\n"
            + "{\"event_type\":\"stream_end\"}\n").utf8)

    static let expected = [
        "{\"event_type\":\"stream_start\"}",
        "{\"text\":\"Résumé 日本の料理 🍣🎬 👩‍🍳\"}",
        "{\"text\":\"a\rb\u{2028}c\"}",
        "{\"event_type\":\"stream_end\"}",
    ]

    private func decode(_ chunks: [ArraySlice<UInt8>]) throws -> [String] {
        var decoder = LineDecoder()
        var lines: [[UInt8]] = []
        for chunk in chunks { lines += try decoder.feed(chunk) }
        #expect(decoder.pendingBytes.isEmpty)
        #expect(decoder.finish() == nil)
        // Compare bytes first: a damaged UTF-8 sequence would still decode to some String.
        #expect(lines == LineDecoderTests.expected.map { Array($0.utf8) })
        return lines.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("all at once")
    func allAtOnce() throws {
        #expect(try decode([LineDecoderTests.stream[...]]) == LineDecoderTests.expected)
    }

    @Test("byte by byte")
    func byteByByte() throws {
        let chunks = LineDecoderTests.stream.indices.map { LineDecoderTests.stream[$0...$0] }
        #expect(try decode(chunks) == LineDecoderTests.expected)
    }

    @Test("200 seeded random splits")
    func randomSplits() throws {
        var generator = SplitMix(seed: 0xC0FFEE)
        let bytes = LineDecoderTests.stream
        for _ in 0..<200 {
            var cuts = Set<Int>()
            for _ in 0..<Int.random(in: 1...12, using: &generator) {
                cuts.insert(Int.random(in: 1..<bytes.count, using: &generator))
            }
            var chunks: [ArraySlice<UInt8>] = []
            var start = 0
            for cut in cuts.sorted() + [bytes.count] {
                chunks.append(bytes[start..<cut])
                start = cut
            }
            #expect(try decode(chunks) == LineDecoderTests.expected)
        }
    }

    @Test("a split inside every multi-byte character")
    func utf8Splits() throws {
        let bytes = LineDecoderTests.stream
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        // Cut after every lead byte of a multi-byte sequence.
        for index in bytes.indices where bytes[index] >= 0xC0 {
            chunks.append(bytes[start...index])
            start = index + 1
        }
        chunks.append(bytes[start...])
        #expect(chunks.count > 10)
        #expect(try decode(chunks) == LineDecoderTests.expected)
    }

    @Test("finish returns an unterminated last line, and keeps it pending until then")
    func unterminatedLastLine() throws {
        var decoder = LineDecoder()
        #expect(try decoder.feed(Array("{\"a\":1}\n{\"b\":".utf8)) == [Array("{\"a\":1}".utf8)])
        #expect(decoder.pendingBytes == Array("{\"b\":".utf8))
        #expect(try decoder.feed(Array("2}\r".utf8)).isEmpty)
        #expect(decoder.finish() == Array("{\"b\":2}".utf8))
        #expect(decoder.pendingBytes.isEmpty)
        #expect(decoder.finish() == nil)

        var blank = LineDecoder()
        _ = try blank.feed(Array("  \t".utf8))
        #expect(blank.finish() == nil)
    }

    @Test("a line longer than the limit throws, with a prefix of it")
    func tooLong() throws {
        var decoder = LineDecoder(maxLineBytes: 16)
        #expect(try decoder.feed(Array("0123456789abcdef\n".utf8)).count == 1)
        #expect(throws: SSEDecoder.LineTooLong.self) {
            _ = try decoder.feed(Array("0123456789".utf8))
            _ = try decoder.feed(Array("abcdefgh".utf8))
        }
        do throws(SSEDecoder.LineTooLong) {
            var other = LineDecoder(maxLineBytes: 4)
            _ = try other.feed(Array("abcdef".utf8))
            Issue.record("expected LineTooLong")
        } catch {
            #expect(error.limit == 4)
            #expect(error.prefix == Array("abcde".utf8))
        }
    }
}

/// SplitMix64, so that the random splits are the same on every run.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
