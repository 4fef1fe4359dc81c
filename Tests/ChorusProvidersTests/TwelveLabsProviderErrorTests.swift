import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Testing

/// What the TwelveLabs adapter reports when the request cannot work or TwelveLabs says no.
@Suite("TwelveLabsProvider errors over the fake upstream", .timeLimit(.minutes(1)))
struct TwelveLabsProviderErrorTests {
    let fake: FakeUpstream

    init() async throws {
        fake = try await FakeUpstream.start()
    }

    // MARK: Requests that cannot work

    @Test(
        "a prompt without a video id fails before any HTTP request, saying what is missing",
        arguments: [
            (VideoReference(), "named no video"),
            (VideoReference(videoPath: "clips/a.mp4"), "named only video_path 'clips/a.mp4'"),
            (VideoReference(indexID: "idx-1"), "named only index_id 'idx-1'"),
        ])
    func missingVideoID(video: VideoReference, says: String) async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q", video: video)
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("pegasus needs video_id"))
        #expect(error.message.contains(says))
        #expect(chunks.isEmpty)
        #expect(try await fake.requests().isEmpty)
    }

    @Test("an unknown video id is NOT_FOUND naming the video")
    func unknownVideo() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let video = VideoReference(indexID: "idx-1", videoID: "missing-42")
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q [fake:tag=missing]", video: video)
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .notFound)
        #expect(error.message.contains("no video 'missing-42'"))
        #expect(error.message.contains("resource_not_exist"))
        #expect(!error.message.contains("upstream model"))
        #expect(try await fake.requests(tag: "missing").count == 1)
    }

    @Test("a parameter error is INVALID_ARGUMENT and not retried")
    func badRequest() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q [fake:status=400;tag=bad]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("parameter_invalid"))
        #expect(try await fake.requests(tag: "bad").count == 1)
    }

    // MARK: Keys

    @Test("a refused key is UNAUTHENTICATED naming TWELVELABS_API_KEY, never the key itself")
    func badKey() async throws {
        defer { fake.stop() }
        let badKey = "bad-key-0123456789abcdef"
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake, key: badKey))
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q [fake:tag=badkey]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("TWELVELABS_API_KEY"))
        #expect(error.message.contains("api_key_invalid"))
        #expect(!error.message.contains(badKey))
        #expect(!error.retryable)
        #expect(try await fake.requests(tag: "badkey").count == 1)
    }

    @Test("no key at all is UNAUTHENTICATED naming TWELVELABS_API_KEY, without a request")
    func missingKey() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake, key: nil))
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("TWELVELABS_API_KEY"))
        #expect(try await fake.requests().isEmpty)
    }

    @Test("403 is PERMISSION_DENIED with the key hint")
    func forbidden() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q [fake:status=403]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .permissionDenied)
        #expect(error.message.contains("TWELVELABS_API_KEY"))
        #expect(!error.message.contains(TwelveLabsTesting.key))
    }

    // MARK: Rate limits and outages

    @Test("429 is RESOURCE_EXHAUSTED with the delay from TwelveLabs' message; a minute is too long to retry")
    func rateLimitedWithoutRetryAfter() async throws {
        defer { fake.stop() }
        // Default maxRetryAfter (30 s) is shorter than the fake's one-minute reset.
        let retry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10))
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake, retry: retry))
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q [fake:status=429;tag=429]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .resourceExhausted)
        #expect(error.retryable)
        #expect(error.message.contains("too_many_requests"))
        let retryAfter = try #require(error.retryAfter)
        #expect(retryAfter > .seconds(30) && retryAfter <= .seconds(62))
        #expect(try await fake.requests(tag: "429").count == 1)
    }

    @Test("a Retry-After header wins over the message")
    func rateLimitedWithRetryAfter() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake, retry: .none))
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q [fake:status=429;retry_after=2]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .resourceExhausted)
        #expect(error.retryAfter == .seconds(2))
    }

    @Test("a 429 once is retried after the asked delay, then the full answer streams")
    func rateLimitedOnce() async throws {
        defer { fake.stop() }
        let limiter = ConcurrencyLimiter(limit: 1)
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake, limiter: limiter))
        let (chunks, result) = await TwelveLabsTesting.run(
            provider, query: "q [fake:status=429;times=1;retry_after=0.05;tag=429once]")
        let completion = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect(completion.finishReason == "stop")
        let records = try await fake.requests(tag: "429once")
        #expect(records.map { $0["status"] as? Int } == [429, 200])
        #expect(limiter.available == 1)
    }

    @Test("5xx is UNAVAILABLE after every attempt was tried", arguments: [500, 503, 502])
    func serverErrors(status: Int) async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:status=\(status);tag=s\(status)]")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("TwelveLabs answered HTTP \(status)"))
        #expect(chunks.isEmpty)
        #expect(try await fake.requests(tag: "s\(status)").count == 3)
    }

    @Test("a 503 once is retried, then the full answer streams")
    func serverErrorOnce() async throws {
        defer { fake.stop() }
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake))
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q [fake:status=503;times=1;tag=503once]")
        _ = try result.get()
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect(try await fake.requests(tag: "503once").count == 2)
    }

    @Test("an unreachable upstream is UNAVAILABLE naming TwelveLabs")
    func unreachable() async throws {
        fake.stop()
        let provider = TwelveLabsTesting.provider(TwelveLabsTesting.settings(fake, retry: .none))
        let (_, result) = await TwelveLabsTesting.run(provider, query: "q")
        let error = try #require(TwelveLabsTesting.error(result))
        #expect(error.code == .unavailable)
        #expect(error.message.hasPrefix("TwelveLabs: "))
    }
}
