import ChorusCore
import ChorusCurl
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Testing

/// The Gemini adapter against the fake upstream, over real HTTP through libcurl.
@Suite("Gemini provider")
struct GeminiProviderTests {
    /// `usageMetadata.candidatesTokenCount` the fake reports for `text`.
    static func fakeTokens(_ text: String) -> Int { max(1, (text.unicodeScalars.count + 3) / 4) }

    @Test("streams the answer, skips the thought part, reports finish reason and usage")
    func normalStream() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let collector = TextCollector()
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "Describe [fake:tag=normal]", collector: collector)
        #expect(text == GeminiTesting.defaultText)
        #expect(!text.contains(GeminiTesting.thoughtMarker))
        // One write per content event (8 code points each): the answer streams, it is not buffered.
        #expect(collector.chunks.count == (GeminiTesting.defaultText.unicodeScalars.count + 7) / 8)
        let completion = try #require(GeminiTesting.completion(result))
        #expect(completion.finishReason == "stop")
        #expect(completion.outputTokens == Self.fakeTokens(GeminiTesting.defaultText))
    }

    @Test("sends the documented request: path, key header, contents and generationConfig")
    func requestShape() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let query = "What happens? [fake:tag=shape]"
        let (_, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: query, maxOutputTokens: 77, temperature: 0.25)
        _ = try result.get()
        let records = try await fake.requests(tag: "shape")
        try #require(records.count == 1)
        let record = records[0]
        #expect(GeminiTesting.method(record) == "POST")
        #expect(GeminiTesting.path(record) == "/v1beta/models/gemini-test:streamGenerateContent?alt=sse")
        // The fake masks keys as the first 7 characters, an ellipsis and the last 4.
        #expect(GeminiTesting.header(record, "x-goog-api-key") == "gm-test…cdef")
        #expect(GeminiTesting.header(record, "content-type") == "application/json")
        let json = try #require(record["json"] as? [String: Any])
        let contents = try #require(json["contents"] as? [[String: Any]])
        #expect(contents.count == 1)
        #expect(contents[0]["role"] as? String == "user")
        let parts = try #require(contents[0]["parts"] as? [[String: Any]])
        #expect(parts.count == 1)
        #expect(parts[0]["text"] as? String == query)
        let config = try #require(json["generationConfig"] as? [String: Any])
        #expect(config["maxOutputTokens"] as? Int == 77)
        #expect(config["temperature"] as? Double == 0.25)
    }

    @Test("leaves generationConfig out when nothing is set")
    func noGenerationConfig() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        _ = try await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:tag=plain]").result.get()
        let json = try #require(try await fake.requests(tag: "plain").first?["json"] as? [String: Any])
        #expect(json["generationConfig"] == nil)
    }

    @Test("exact text when CRLF-framed events are split at random byte offsets", arguments: [1, 2, 3, 7, 42])
    func randomSplits(seed: Int) async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:split=random;seed=\(seed)]")
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result)?.finishReason == "stop")
    }

    @Test("exact text when every UTF-8 character and every CRLF CRLF terminator is split")
    func utf8Splits() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:split=utf8]")
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result)?.finishReason == "stop")
    }

    @Test("exact text with several events per write, also split, and with blank-line and comment noise",
          arguments: ["coalesce=all", "coalesce=3", "coalesce=4;split=random;seed=5", "noise", "comments", "split=1"])
    func coalescedAndNoisy(behavior: String) async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:\(behavior)]")
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result)?.outputTokens == Self.fakeTokens(GeminiTesting.defaultText))
    }

    @Test("a slow drip of single bytes still gives the exact text")
    func drip() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(
            GeminiTesting.provider(fake), query: "q [fake:text=Caf%C3%A9 \u{2615} \u{1F44D}\u{1F3FD};piece=0;thought=0;drip=1]")
        #expect(text == "Caf\u{E9} \u{2615} \u{1F44D}\u{1F3FD}")
        #expect(GeminiTesting.completion(result)?.finishReason == "stop")
    }

    @Test("finish reasons are normalised", arguments: [
        ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
        ("OTHER", "other"),
    ])
    func finishReasons(upstream: String, expected: String) async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (_, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:finish=\(upstream)]")
        #expect(GeminiTesting.completion(result)?.finishReason == expected)
    }

    @Test("a blocked prompt is INVALID_ARGUMENT naming the block reason")
    func blockedPrompt() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:block=prompt]")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .invalidArgument)
        #expect(error.message == "Gemini blocked the prompt: SAFETY")
        #expect(text.isEmpty)
    }

    @Test("stops promptly when cancelled during a stall, and the fake sees the hang-up")
    func stallThenCancel() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let provider = GeminiTesting.provider(fake)
        let collector = TextCollector()
        let task = Task { await GeminiTesting.run(provider, query: "q [fake:stall_after=3;tag=stall]", collector: collector) }
        await collector.waitForChunks(2)
        let cancelled = ContinuousClock.now
        task.cancel()
        let (text, result) = await task.value
        // A generous safety net, not a timing assertion: without prompt cancellation this hangs.
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        #expect(GeminiTesting.error(result)?.code == .cancelled)
        #expect(GeminiTesting.defaultText.hasPrefix(text))
        #expect(try await GeminiTesting.waitForClientGone(fake, tag: "stall"))
        #expect(try await fake.requests(tag: "stall").count == 1)
    }

    @Test("a connection cut inside an event is UNAVAILABLE (truncated), not retried after text")
    func cutMidEvent() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:cut_after=3;tag=cut]")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("closed the stream before the answer was complete"))
        #expect(error.message.contains("cut inside an event"))
        // Two content events arrived whole (after the thought event); the third was cut.
        let scalars = Array(GeminiTesting.defaultText.unicodeScalars)
        #expect(text == String(String.UnicodeScalarView(scalars[..<16])))
        #expect(try await fake.requests(tag: "cut").count == 1)
    }

    @Test("a stream that ends without finishReason is UNAVAILABLE (truncated)")
    func noEnd() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:no_end]")
        #expect(text == GeminiTesting.defaultText)
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("before the answer was complete"))
    }

    @Test("an error inside the 200 stream fails the call, in object and array form", arguments: ["", ";error_form=array"])
    func errorInStream(form: String) async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:error_after=2\(form);tag=err]")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("Gemini reported an error mid-stream"))
        let scalars = Array(GeminiTesting.defaultText.unicodeScalars)
        #expect(text == String(String.UnicodeScalarView(scalars[..<16])))
        // Text went out, so the adapter must not retry (the client would see it twice).
        #expect(try await fake.requests(tag: "err").count == 1)
    }

    @Test("an in-stream error before any text is retried")
    func errorInStreamBeforeTextIsRetried() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:error_after=0;error_code=503;times=1;tag=early]")
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result)?.finishReason == "stop")
        #expect(try await fake.requests(tag: "early").count == 2)
    }

    @Test("429 is RESOURCE_EXHAUSTED with the RetryInfo delay", arguments: ["", ";error_form=array"])
    func rateLimited(form: String) async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let provider = GeminiTesting.provider(fake, retry: .none)
        let (text, result) = await GeminiTesting.run(provider, query: "q [fake:status=429;retry_after=26\(form)]")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .resourceExhausted)
        #expect(error.retryable)
        #expect(error.retryAfter == .seconds(26))
        #expect(error.message.contains("HTTP 429"))
        #expect(text.isEmpty)
    }

    @Test("a 429 once is retried after the upstream's delay and then succeeds")
    func rateLimitedOnceThenRetried() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(
            GeminiTesting.provider(fake), query: "q [fake:status=429;retry_after=0.05;times=1;tag=retry429]")
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result)?.finishReason == "stop")
        let records = try await fake.requests(tag: "retry429")
        #expect(records.map { $0["status"] as? Int } == [429, 200])
    }

    @Test("503 is UNAVAILABLE and retried up to the policy's attempts")
    func unavailable() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (_, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:status=503;tag=s503]")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.retryable)
        #expect(try await fake.requests(tag: "s503").count == 3)
    }

    @Test("a 503 once is retried and then succeeds")
    func unavailableOnce() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:gemini.status=503;times=1;tag=once503]")
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result) != nil)
        #expect(try await fake.requests(tag: "once503").count == 2)
    }

    @Test("a bad key (400 API_KEY_INVALID) is UNAUTHENTICATED naming GEMINI_API_KEY, never quoting the key")
    func badKey() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let key = "bad-key-0123456789secret"
        let (_, result) = await GeminiTesting.run(GeminiTesting.provider(fake, key: key), query: "q [fake:tag=badkey]")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("GEMINI_API_KEY"))
        #expect(!error.message.contains(key))
        #expect(!error.message.contains("0123456789secret"))
        #expect(try await fake.requests(tag: "badkey").count == 1)
    }

    @Test("403 is PERMISSION_DENIED with the key hint")
    func forbidden() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (_, result) = await GeminiTesting.run(GeminiTesting.provider(fake), query: "q [fake:status=403]")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .permissionDenied)
        #expect(error.message.contains("GEMINI_API_KEY"))
        #expect(!error.message.contains(GeminiTesting.key))
    }

    @Test("no key configured: UNAUTHENTICATED naming GEMINI_API_KEY, and nothing is sent")
    func missingKey() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (_, result) = await GeminiTesting.run(GeminiTesting.provider(fake, key: nil), query: "q")
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("GEMINI_API_KEY"))
        #expect(try await fake.requests().isEmpty)
    }

    @Test("a video prompt on a server without video access is FAILED_PRECONDITION, and nothing is sent")
    func videoWithoutVideoAccess() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (_, result) = await GeminiTesting.run(
            GeminiTesting.provider(fake, video: nil), query: "q", video: VideoReference(videoPath: "clip.mp4"))
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("no video access"))
        #expect(try await fake.requests().isEmpty)
    }
}
