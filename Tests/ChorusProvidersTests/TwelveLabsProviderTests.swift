import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

/// The TwelveLabs Pegasus adapter against the fake upstream over real HTTP (libcurl), one
/// misbehaviour each. Behaviours travel as `[fake:…]` markers in the query, as they do through
/// Chorus; every test tags its requests to read back what the adapter sent.
@Suite("TwelveLabsProvider over the fake upstream", .timeLimit(.minutes(1)))
struct TwelveLabsProviderTests {
    let fake: FakeUpstream

    init() async throws {
        fake = try await FakeUpstream.start()
    }

    /// The first `pieces` text lines of `text` (8 code points each).
    private func prefix(_ text: String, pieces: Int) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(pieces * 8)))
    }

    // MARK: Normal answers and the request

    @Test("streams every text line as it arrives and sends the documented request")
    func normalAnswerAndRequest() async throws {
        defer { fake.stop() }
        let recorder = RecordingLogHandler.Recorder()
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake), logger: recorder.logger())
        let query = "Describe the clip \"quoted\" \\ [fake:tag=normal]"
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: query, maxOutputTokens: 300, temperature: 0.25)
        let completion = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        // One write per text_generation line: nothing is buffered until the end.
        #expect(chunks.count == TwelveLabsTesting.pieces(TwelveLabsTesting.defaultText))
        #expect(completion.finishReason == "stop")
        #expect(completion.outputTokens == TwelveLabsTesting.pieces(TwelveLabsTesting.defaultText))
        #expect(provider.kind == "twelvelabs")

        let records = try await fake.requests(tag: "normal")
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record["path"] as? String == "/v1.3/analyze")
        #expect(record["method"] as? String == "POST")
        // The fake masks keys as first 7 + "…" + last 4 characters.
        let key = try #require(TwelveLabsTesting.header(record, "x-api-key"))
        #expect(key.hasPrefix(String(TwelveLabsTesting.key.prefix(7))) && key.hasSuffix(String(TwelveLabsTesting.key.suffix(4))))
        #expect(TwelveLabsTesting.header(record, "Content-Type") == "application/json")

        let json = try #require(record["json"] as? [String: Any])
        #expect(json["video_id"] as? String == "vid-8")
        #expect(json["prompt"] as? String == query)
        #expect(json["stream"] as? Bool == true)
        #expect(json["model_name"] as? String == "pegasus1.2")
        #expect(json["temperature"] as? Double == 0.25)
        #expect(json["max_tokens"] as? Int == 300)
        #expect(json["index_id"] == nil && json["video"] == nil)

        // The generation id is logged at debug; the key never appears in logs.
        let entries = recorder.entries
        #expect(entries.contains { $0.level == .debug && $0.metadata["twelvelabs.generation_id"]?.count == 36 })
        #expect(!entries.contains { "\($0.message) \($0.metadata)".contains(TwelveLabsTesting.key) })
    }

    @Test("omits max_tokens and temperature the prompt does not set")
    func noOptionalParameters() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        _ = try await TwelveLabsTesting.run(provider, query: "hi [fake:tag=plain]").result.get()
        let json = try #require(try await fake.requests(tag: "plain").first?["json"] as? [String: Any])
        #expect(json["max_tokens"] == nil && json["temperature"] == nil)
        #expect(json["stream"] as? Bool == true)
    }

    @Test("finish_reason length and usage come from stream_end (its error is only a warning)")
    func finishLength() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:finish=length;piece=5]")
        let completion = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect(completion.finishReason == "length")
        #expect(completion.outputTokens == TwelveLabsTesting.pieces(TwelveLabsTesting.defaultText, piece: 5))
    }

    // MARK: Byte-level framing

    @Test("random splits give the exact text", arguments: [1, 2, 3, 7, 42])
    func randomSplits(seed: Int) async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:split=random;seed=\(seed)]")
        _ = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
    }

    @Test("splits inside every UTF-8 sequence and line end give the exact text")
    func utf8Splits() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:split=utf8]")
        _ = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect(chunks.count == TwelveLabsTesting.pieces(TwelveLabsTesting.defaultText))
    }

    @Test(
        "several lines per write, alone and split again, give the exact text",
        arguments: ["coalesce=3", "coalesce=all", "coalesce=4;split=random;seed=5", "split=1", "noise;split=random;seed=9"])
    func coalescedWrites(behavior: String) async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:\(behavior)]")
        let completion = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect(completion.finishReason == "stop")
    }

    @Test("a slow drip, one byte per write, gives the exact text")
    func slowDrip() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        // A short text keeps the drip (one byte per millisecond) well under a second.
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:drip=1;piece=3;text=Caf%C3%A9 🎬 日本]")
        _ = try result.get()
        #expect(chunks.joined() == "Café 🎬 日本")
        #expect(chunks.count == 3)
    }

    @Test("a U+2028 inside a text line is text, not a line end")
    func lineSeparatorInText() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:text=a%E2%80%A8b%C2%85c;split=utf8]")
        _ = try result.get()
        #expect(chunks.joined() == "a\u{2028}b\u{85}c")
    }

    // MARK: Broken streams

    @Test("a stall is ended by cancellation: the adapter returns and the fake sees the hang-up")
    func stallThenCancel() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let collector = TextCollector()
        let prompt = ModelPrompt(model: "pegasus", query: "q [fake:stall_after=3;tag=stall]", video: TwelveLabsTesting.video)
        let task = Task { try await provider.generate(prompt, output: collector.writer) }
        // stream_start and two text lines, then silence.
        await collector.waitForChunks(2)
        task.cancel()
        let cancelledAt = ContinuousClock.now
        let result = await task.result
        // A generous safety net, not a timing assertion: curl's progress callback runs every second.
        #expect(ContinuousClock.now - cancelledAt < .seconds(5))
        switch result {
        case .success: Issue.record("a stalled stream must not complete")
        case .failure(let error):
            #expect(error is CancellationError || ChorusError(from: error).code == .cancelled)
        }
        #expect(collector.chunks.joined() == prefix(TwelveLabsTesting.defaultText, pieces: 2))
        let records = try await TwelveLabsTesting.waitForRecords(fake, tag: "stall") {
            $0.first?["client_gone"] as? Bool == true
        }
        #expect(records.count == 1)
        #expect(records.first?["client_gone"] as? Bool == true)
    }

    @Test("a connection cut mid-line is UNAVAILABLE naming the cut, and not retried after text went out")
    func cutMidLine() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:cut_after=3;tag=cut]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("closed the stream before the answer was complete"))
        #expect(error.message.contains("cut inside an event: '{\"event_type\":\"text_gen"))
        #expect(error.message.contains("the connection failed"))
        #expect(chunks.joined() == prefix(TwelveLabsTesting.defaultText, pieces: 2))
        #expect(try await fake.requests(tag: "cut").count == 1)
    }

    @Test("a cut before any text is retried, then reported after every attempt", arguments: ["fin", "rst"])
    func cutBeforeText(mode: String) async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:cut_after=0;cut=\(mode);tag=cut0]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("TwelveLabs"))
        #expect(chunks.isEmpty)
        #expect(try await fake.requests(tag: "cut0").count == 3)
    }

    @Test("a stream that ends cleanly without stream_end is UNAVAILABLE (truncated)")
    func missingStreamEnd() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:no_end;tag=noend]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("closed the stream before the answer was complete"))
        #expect(!error.message.contains("cut inside"))
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect(try await fake.requests(tag: "noend").count == 1)
    }

    @Test("an error line inside the 200 stream ends the answer with the upstream's message")
    func errorInsideStream() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:error_after=2;tag=midstream]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("mid-stream"))
        #expect(error.message.contains("An internal error occurred during generation"))
        #expect(chunks.joined() == prefix(TwelveLabsTesting.defaultText, pieces: 2))
        // Text went out, so a retry would repeat it.
        #expect(try await fake.requests(tag: "midstream").count == 1)
    }

    @Test("an error line before any text is retried")
    func errorInsideStreamBeforeText() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:error_after=0;times=1;tag=midstream0]")
        _ = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect(try await fake.requests(tag: "midstream0").count == 2)
    }
}
