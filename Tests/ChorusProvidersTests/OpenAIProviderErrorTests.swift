import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Testing

/// Error statuses, keys and OpenAI-compatible servers, against the fake upstream over libcurl.
@Suite("OpenAIProvider errors and compatible servers", .timeLimit(.minutes(1)))
struct OpenAIProviderErrorTests {
    let fake: FakeUpstream

    init() async throws {
        fake = try await FakeUpstream.start()
    }

    // MARK: Error statuses

    @Test("429 is RESOURCE_EXHAUSTED with the delay OpenAI asked for")
    func rateLimited() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake, retry: .none))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:status=429;retry_after=7]")
        let error = try #require(OpenAITesting.error(result))
        #expect(text.isEmpty)
        #expect(error.code == .resourceExhausted)
        #expect(error.retryable)
        #expect(error.retryAfter == .seconds(7))
        #expect(error.message.contains("Rate limit reached"))
    }

    @Test("429 without retry-after waits until the rate limit resets (x-ratelimit-reset-tokens)")
    func rateLimitedResetHeaders() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake, retry: .none))
        // The fake then sends x-ratelimit-reset-tokens: 1s and x-ratelimit-reset-requests: 6m0s.
        let (_, result) = await OpenAITesting.run(provider, query: "q [fake:status=429;retry_after=none;retry_after_ms=none]")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .resourceExhausted)
        #expect(error.retryAfter == .seconds(1))
    }

    @Test("a 429 is retried and the retry streams the full answer")
    func rateLimitedThenSucceeds() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:status=429;times=1;retry_after=0.01;tag=429-once]")
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().finishReason == "stop")
        #expect(try await fake.requests(tag: "429-once").count == 2)
    }

    @Test("an exhausted quota is not retried")
    func quotaExhausted() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (_, result) = await OpenAITesting.run(provider, query: "q [fake:status=429;kind=quota;tag=quota]")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .resourceExhausted)
        #expect(!error.retryable)
        #expect(error.message.contains("insufficient_quota"))
        #expect(try await fake.requests(tag: "quota").count == 1)
    }

    @Test("5xx is UNAVAILABLE after every attempt", arguments: [500, 502, 503])
    func serverErrors(status: Int) async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let tag = "s\(status)"
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:status=\(status);tag=\(tag)]")
        let error = try #require(OpenAITesting.error(result))
        #expect(text.isEmpty)
        #expect(error.code == .unavailable)
        #expect(error.message.contains("HTTP \(status)"))
        #expect(try await fake.requests(tag: tag).count == OpenAITesting.fastRetry.maxAttempts)
    }

    @Test("a 503 once is retried")
    func serverErrorThenSucceeds() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (text, _) = await OpenAITesting.run(provider, query: "q [fake:status=503;times=2;tag=503-twice]")
        #expect(text == OpenAITesting.defaultText)
        #expect(try await fake.requests(tag: "503-twice").count == 3)
    }

    @Test("no key: UNAUTHENTICATED naming OPENAI_API_KEY, and nothing is sent")
    func missingKey() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake, key: nil))
        let (_, result) = await OpenAITesting.run(provider, query: "q [fake:tag=nokey]")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("OPENAI_API_KEY"))
        #expect(try await fake.requests(tag: "nokey").isEmpty)
    }

    @Test("a refused key: UNAUTHENTICATED with a hint, never the key, not retried")
    func badKey() async throws {
        defer { fake.stop() }
        let secret = "bad-secret-key-0987654321"
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake, key: secret))
        let (_, result) = await OpenAITesting.run(provider, query: "q [fake:tag=badkey]")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("OPENAI_API_KEY"))
        #expect(error.message.contains("Incorrect API key"))
        #expect(!error.message.contains(secret))
        #expect(try await fake.requests(tag: "badkey").count == 1)
    }

    @Test("403 is PERMISSION_DENIED with the key hint")
    func forbidden() async throws {
        defer { fake.stop() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake))
        let (_, result) = await OpenAITesting.run(provider, query: "q [fake:status=403]")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .permissionDenied)
        #expect(error.message.contains("OPENAI_API_KEY"))
        #expect(!error.message.contains(OpenAITesting.key))
    }

    @Test("an unreachable server is UNAVAILABLE after retries")
    func unreachable() async throws {
        let port = fake.port
        fake.stop()
        let settings = OpenAITesting.settings(fake, baseURL: "http://127.0.0.1:\(port)/v1")
        let (_, result) = await OpenAITesting.run(OpenAITesting.provider(settings), query: "q")
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.hasPrefix("OpenAI: "))
    }

    // MARK: OpenAI-compatible servers

    @Test("an OpenAI-compatible server needs no key and gets max_tokens")
    func compatibleWithoutKey() async throws {
        defer { fake.stop() }
        let settings = OpenAITesting.settings(
            fake, provider: .openAICompatible, baseURL: fake.origin + "/local/v1/", key: nil)
        let provider = OpenAITesting.provider(settings)
        #expect(provider.kind == "openai-compatible")
        let (text, result) = await OpenAITesting.run(provider, query: "q [fake:tag=local;split=random]", maxOutputTokens: 64)
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().finishReason == "stop")
        let record = try #require(try await fake.requests(tag: "local").first)
        #expect(record["path"] as? String == "/local/v1/chat/completions")
        #expect(OpenAITesting.header(record, "Authorization") == nil)
        let json = try #require(record["json"] as? [String: Any])
        #expect(json["max_tokens"] as? Int == 64)
        #expect(json["max_completion_tokens"] == nil)
    }

    @Test("an OpenAI-compatible server gets the key when one is configured")
    func compatibleWithKey() async throws {
        defer { fake.stop() }
        let settings = OpenAITesting.settings(fake, provider: .openAICompatible, baseURL: fake.origin + "/local/v1")
        _ = try await OpenAITesting.run(OpenAITesting.provider(settings), query: "q [fake:tag=local-key]").result.get()
        let record = try #require(try await fake.requests(tag: "local-key").first)
        #expect(OpenAITesting.header(record, "Authorization")?.hasPrefix("Bearer ") == true)
    }
}
