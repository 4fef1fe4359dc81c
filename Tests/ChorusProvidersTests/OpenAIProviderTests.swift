import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

/// The OpenAI adapter against the fake upstream over real HTTP (libcurl), one misbehaviour each.
@Suite("OpenAIProvider over the fake upstream", .timeLimit(.minutes(1)))
struct OpenAIProviderTests {
    let fake: FakeUpstream

    init() async throws {
        fake = try await FakeUpstream.start()
    }

    /// The first `pieces` content events of `text` (8 code points each), as the client sees them.
    private func prefix(_ text: String, pieces: Int) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(pieces * 8)))
    }

    // MARK: Normal answers and the request

    @Test("streams the whole answer and sends the documented request")
    func normalAnswerAndRequest() async throws {
        defer { fake.stop() }
        let recorder = RecordingLogHandler.Recorder()
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake), logger: recorder.logger())
        let query = "Describe the clip \"quoted\" \\ [fake:tag=normal]"
        let (text, result) = await OpenAITesting.run(provider, query: query, maxOutputTokens: 300, temperature: 0.25)
        let completion = try result.get()
        #expect(text == OpenAITesting.defaultText)
        #expect(completion.finishReason == "stop")
        #expect(completion.outputTokens == OpenAITesting.pieces(OpenAITesting.defaultText))
        #expect(provider.kind == "openai")

        let records = try await fake.requests(tag: "normal")
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record["path"] as? String == "/v1/chat/completions")
        #expect(record["method"] as? String == "POST")
        let auth = try #require(OpenAITesting.header(record, "Authorization"))
        #expect(auth.hasPrefix("Bearer ") && auth.hasSuffix(String(OpenAITesting.key.suffix(4))))
        #expect(OpenAITesting.header(record, "Accept") == "text/event-stream")
        #expect(OpenAITesting.header(record, "Content-Type") == "application/json")

        let json = try #require(record["json"] as? [String: Any])
        #expect(json["model"] as? String == "gpt-4o")
        #expect(json["stream"] as? Bool == true)
        #expect((json["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect(json["max_completion_tokens"] as? Int == 300)
        #expect(json["max_tokens"] == nil)
        #expect(json["temperature"] as? Double == 0.25)
        let messages = try #require(json["messages"] as? [[String: Any]])
        #expect(messages.count == 1)
        #expect(messages.first?["role"] as? String == "user")
        let content = try #require(messages.first?["content"] as? [[String: Any]])
        #expect(content.count == 1)
        #expect(content.first?["type"] as? String == "text")
        #expect(content.first?["text"] as? String == query)

        // Debug logs name the upstream request id and never the key.
        let entries = recorder.entries
        #expect(entries.contains { $0.metadata["x-request-id"]?.hasPrefix("req_") == true })
        #expect(entries.contains { $0.metadata["x-ratelimit-remaining-requests"] == "9999" })
        #expect(!entries.contains { "\($0.message) \($0.metadata)".contains(OpenAITesting.key) })
    }

    @Test("omits max tokens and temperature the prompt does not set")
    func noOptionalParameters() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        _ = try await OpenAITesting.run(provider, query: "hi [fake:tag=plain]").result.get()
        let json = try #require(try await fake.requests(tag: "plain").first?["json"] as? [String: Any])
        #expect(json["max_completion_tokens"] == nil && json["max_tokens"] == nil && json["temperature"] == nil)
    }

    @Test("reports finish reasons lowercased", arguments: ["length", "CONTENT_FILTER"])
    func finishReasons(finish: String) async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:finish=\(finish)]")
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().finishReason == finish.lowercased())
    }

    // MARK: Write patterns

    @Test("reassembles events split at random byte offsets", arguments: [1, 2, 3, 7, 42])
    func randomSplits(seed: Int) async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:split=random;seed=\(seed)]")
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().outputTokens == OpenAITesting.pieces(OpenAITesting.defaultText))
    }

    @Test(
        "reassembles writes split inside UTF-8 characters, terminators and single bytes",
        arguments: ["split=utf8", "split=1;gap=0", "split=utf8;piece=1", "noise;split=utf8"])
    func byteLevelSplits(behaviour: String) async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:\(behaviour)]")
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().finishReason == "stop")
    }

    @Test(
        "handles several events per write", arguments: ["coalesce=3", "coalesce=all", "coalesce=4;split=random;seed=5"])
    func coalescedEvents(behaviour: String) async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:\(behaviour)]")
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().outputTokens == OpenAITesting.pieces(OpenAITesting.defaultText))
    }

    @Test("streams chosen text with one code point per event, split inside characters")
    func chosenText() async throws {
        defer { fake.stop() }
        let wanted = "Ünïcödé 🧪 テスト 👨‍👩‍👧 \"q\" \\ \n line two ✓"
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let encoded = wanted.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:text=\(encoded);piece=1;split=utf8]")
        #expect(text == wanted)
        #expect(try result.get().outputTokens == wanted.unicodeScalars.count)
    }

    @Test("reads a slow one-byte-at-a-time drip")
    func drip() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:drip=0.3;text=Drip%20%F0%9F%8D%A3%20%C3%A9;piece=3]")
        #expect(text == "Drip 🍣 é")
        #expect(try result.get().finishReason == "stop")
    }

    // MARK: Broken streams

    @Test("stops promptly when cancelled during a stall")
    func stallThenCancel() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let collector = TextCollector()
        let prompt = ModelPrompt(model: "gpt4o", query: "q [fake:stall_after=3;tag=stall]")
        let task = Task { try await provider.generate(prompt, output: collector.writer) }
        await collector.waitForChunks(2)  // role chunk + 2 content events, then silence
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        // A generous safety net, not a timing assertion: without prompt cancellation this hangs.
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        guard case .failure(let error) = result else {
            Issue.record("a stalled stream completed")
            return
        }
        #expect(error is CancellationError || ChorusError(from: error).code == .cancelled)
        #expect(collector.text == prefix(OpenAITesting.defaultText, pieces: 2))
        #expect(try await fake.requests(tag: "stall").count == 1)
    }

    @Test("a connection cut mid-event is UNAVAILABLE and keeps the text already sent", arguments: ["fin", "rst"])
    func cutMidEvent(mode: String) async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:cut_after=3;cut=\(mode);tag=cut]")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("closed the stream before the answer was complete"))
        #expect(text == prefix(OpenAITesting.defaultText, pieces: 2))
        // Text already went out, so a retry would repeat it: exactly one request.
        #expect(try await fake.requests(tag: "cut").count == 1)
    }

    @Test("a cut before any text is retried")
    func cutBeforeTextIsRetried() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:cut_after=1;times=1;tag=early-cut]")
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().finishReason == "stop")
        #expect(try await fake.requests(tag: "early-cut").count == 2)
    }

    @Test("a stream cut inside the finish chunk, after all the text, is still truncated")
    func cutBeforeFinish() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let events = 1 + OpenAITesting.pieces(OpenAITesting.defaultText)
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:cut_after=\(events)]")
        #expect(text == OpenAITesting.defaultText)
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("chat.completion.chunk"))  // the snippet of the cut event
    }

    @Test("accepts a finish reason without [DONE] (OpenAI-compatible servers)")
    func finishWithoutDone() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:no_end]")
        #expect(text == OpenAITesting.defaultText)
        let completion = try result.get()
        #expect(completion.finishReason == "stop")
        #expect(completion.outputTokens == OpenAITesting.pieces(OpenAITesting.defaultText))
    }

    @Test("an error inside the 200 stream is mapped with the upstream message")
    func errorInStream() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:error_after=2;tag=in-stream]")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("mid-stream"))
        #expect(error.message.contains("The server had an error while processing your request"))
        #expect(text == prefix(OpenAITesting.defaultText, pieces: 2))
        #expect(try await fake.requests(tag: "in-stream").count == 1)
    }
}
