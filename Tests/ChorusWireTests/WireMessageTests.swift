import ChorusCore
import ChorusWire
import NIOCore
import Testing

@Suite("Wire messages (protobuf-c)")
struct WireMessageTests {
    static let specialText = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n \"quotes\" \\ é"

    static let events: [AnalyzeEvent] = [
        AnalyzeEvent(seq: 1, timestampMicros: 1_790_000_000_000_000, payload: .start(StreamStart(models: ["gemini", "pegasus"], recommended: true, requestID: "req-1"))),
        AnalyzeEvent(seq: 2, timestampMicros: 2, payload: .modelStart(ModelStart(model: "gemini", provider: "demo"))),
        AnalyzeEvent(seq: 3, timestampMicros: 3, payload: .textGeneration(TextGeneration(model: "gemini", text: specialText))),
        AnalyzeEvent(seq: 4, timestampMicros: 4, payload: .textGeneration(TextGeneration(model: "gemini", text: ""))),
        AnalyzeEvent(seq: 5, timestampMicros: 5, payload: .modelEnd(ModelEnd(model: "gemini", stats: ModelStats(
            timeToFirstToken: .microseconds(350_123), duration: .microseconds(4_200_000), characters: 812, words: 140,
            averageWordLength: 4.8, outputTokens: 182, tokensPerSecond: 45.5, finishReason: "stop", cached: true
        )))),
        AnalyzeEvent(seq: 6, timestampMicros: 6, payload: .modelEnd(ModelEnd(model: "pegasus", stats: ModelStats(outputTokens: nil, finishReason: "length")))),
        AnalyzeEvent(seq: 7, timestampMicros: 7, payload: .error(ModelError(model: "gpt4o", code: .resourceExhausted, message: "rate limited", retryable: true, retryAfter: .milliseconds(1500)))),
        AnalyzeEvent(seq: 8, timestampMicros: -1, payload: .complete(StreamComplete(succeeded: ["gemini", "pegasus"], failed: ["gpt4o"], duration: .microseconds(5_000_001), requestID: "req-1"))),
    ]

    @Test("AnalyzeEvent round trips", arguments: events)
    func analyzeEventRoundTrip(event: AnalyzeEvent) throws {
        #expect(try AnalyzeEvent(decoding: event.encoded()) == event)
    }

    @Test("AnalyzeRequest round trips with and without options")
    func analyzeRequestRoundTrip() throws {
        let full = AnalyzeRequest(
            query: Self.specialText,
            models: ["gemini", "pegasus", "gpt4o"],
            video: VideoReference(indexID: "idx", videoID: "vid", videoPath: "clips/a.mp4"),
            requestID: "r-42",
            options: AnalyzeOptions(modelTimeout: .milliseconds(2500), maxOutputTokens: 256, temperature: 0.25)
        )
        #expect(try AnalyzeRequest(decoding: full.encoded()) == full)
        let minimal = AnalyzeRequest(query: "q")
        #expect(try AnalyzeRequest(decoding: minimal.encoded()) == minimal)
    }

    @Test("control messages round trip")
    func controlMessages() throws {
        let start = CallStartMessage(
            method: ChorusMethod.analyze,
            metadata: [MetadataEntry(key: "authorization", value: "Bearer x"), MetadataEntry(key: "x-trace", value: "1")],
            timeoutMicros: 1_000,
            initialWindow: 65_536,
            request: AnalyzeRequest(query: "q").encoded()
        )
        #expect(try CallStartMessage(decoding: start.encoded()) == start)
        let end = CallEndMessage(code: .unknown, message: Self.specialText, trailingMetadata: [MetadataEntry(key: "k", value: "v")])
        #expect(try CallEndMessage(decoding: end.encoded()) == end)
        #expect(try CancelMessage(decoding: CancelMessage(reason: "bye").encoded()) == CancelMessage(reason: "bye"))
        #expect(try WindowUpdateMessage(decoding: WindowUpdateMessage(increment: 7).encoded()) == WindowUpdateMessage(increment: 7))
        #expect(try PingMessage(decoding: PingMessage(opaque: .max).encoded()) == PingMessage(opaque: .max))
        let goAway = GoAwayMessage(lastStreamID: 9, code: .unavailable, message: "draining")
        #expect(try GoAwayMessage(decoding: goAway.encoded()) == goAway)
        let settings = SettingsMessage(maxConcurrentCalls: 100, maxFramePayload: 4 << 20)
        #expect(try SettingsMessage(decoding: settings.encoded()) == settings)
    }

    @Test("unary responses round trip")
    func unaryResponses() throws {
        let models = ListModelsResponse(models: [
            ModelInfo(name: "gemini", provider: "demo", demo: true, available: true, upstreamModel: "", description: "demo stand-in"),
            ModelInfo(name: "gpt4o", provider: "openai", demo: false, available: false, upstreamModel: "gpt-4o", description: ""),
        ])
        #expect(try ListModelsResponse(decoding: models.encoded()) == models)
        let health = HealthReport(status: .serving, version: "0.1.0", uptime: .microseconds(123_456), activeCalls: 3)
        #expect(try HealthReport(decoding: health.encoded()) == health)
    }

    @Test("an empty payload is the all-default message")
    func emptyPayload() throws {
        let request = try AnalyzeRequest(decoding: ByteBuffer())
        #expect(request.query.isEmpty && request.models.isEmpty)
        #expect(try CallEndMessage(decoding: ByteBuffer()).code == .ok)
    }

    @Test("garbage payloads are rejected with a typed error, never a crash", arguments: [
        [0xFF, 0xFF, 0xFF],
        [0x0A, 0x05, 0x61],  // string field claims 5 bytes, has 1
        [0x62, 0x80],  // truncated length varint
        Array(repeating: 0xFF, count: 64),
    ] as [[UInt8]])
    func garbage(bytes: [UInt8]) {
        #expect(throws: WireError.self) { try AnalyzeEvent(decoding: ByteBuffer(bytes: bytes)) }
        #expect(throws: WireError.self) { try AnalyzeRequest(decoding: ByteBuffer(bytes: bytes)) }
    }

    @Test("an event without a payload is rejected")
    func eventWithoutPayload() {
        // Field 1 (seq) = 1 only.
        #expect(throws: WireError.self) { try AnalyzeEvent(decoding: ByteBuffer(bytes: [0x08, 0x01])) }
    }

    @Test("embedded NUL characters are dropped rather than truncating the string")
    func embeddedNUL() throws {
        let event = AnalyzeEvent(seq: 1, timestampMicros: 0, payload: .textGeneration(TextGeneration(model: "m", text: "a\0b")))
        let decoded = try AnalyzeEvent(decoding: event.encoded())
        #expect(decoded.payload == .textGeneration(TextGeneration(model: "m", text: "ab")))
    }

    @Test("the text event encoding is stable (golden bytes used in PROTOCOL.md)")
    func goldenTextEvent() {
        let event = AnalyzeEvent(seq: 3, timestampMicros: 1_700_000_000_000_000, payload: .textGeneration(TextGeneration(model: "gemini", text: "A cat")))
        var buffer = ByteBuffer()
        buffer.writeFrame(type: .message, streamID: 1) { event.encode(into: &$0) }
        let hex = buffer.readableBytesView.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        // header: length 28, MESSAGE, no flags, stream 1 | seq=3 | timestamp varint | field 12 (len 15): model, text
        #expect(hex == "0000001c020000000001" + "0803" + "108080f9c0c1c48203" + "620f" + "0a0667656d696e69" + "12054120636174")
    }
}
