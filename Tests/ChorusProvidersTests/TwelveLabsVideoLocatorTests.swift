import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

/// TwelveLabs video retrieval against the fake upstream. GET requests carry no body, so the
/// behaviour rides in the video id (`vid-8[fake:…]`), which the fake strips before use.
@Suite("TwelveLabsVideoLocator", .timeLimit(.minutes(1)))
struct TwelveLabsVideoLocatorTests {
    let fake: FakeUpstream

    init() async throws {
        fake = try await FakeUpstream.start()
    }

    private func locator(key: String? = TwelveLabsTesting.key, retry: RetryPolicy = TwelveLabsTesting.fastRetry)
        -> TwelveLabsVideoLocator
    {
        TwelveLabsVideoLocator(settings: TwelveLabsTesting.settings(fake, key: key, retry: retry), logger: Logger(label: "locator-test"))
    }

    private func failure(_ body: () async throws -> String) async -> ChorusError? {
        do {
            let url = try await body()
            Issue.record("expected an error, got \(url)")
            return nil
        } catch {
            return ChorusError(from: error)
        }
    }

    @Test("returns the absolute HLS URL and sends the documented request")
    func absoluteURL() async throws {
        defer { fake.stop() }
        let url = try await locator().streamURL(indexID: "idx-1", videoID: "vid-8[fake:tag=ok]")
        #expect(url == fake.origin + "/media/vid-8.m3u8")
        let record = try #require(try await fake.requests(tag: "ok").first)
        #expect(record["method"] as? String == "GET")
        // Every character outside the unreserved set is percent-encoded in the path segment.
        #expect(record["path"] as? String == "/v1.3/indexes/idx-1/videos/vid-8%5Bfake%3Atag%3Dok%5D")
        let key = try #require(TwelveLabsTesting.header(record, "x-api-key"))
        #expect(key.hasSuffix(String(TwelveLabsTesting.key.suffix(4))))
    }

    @Test("a relative video_url is resolved against the base URL's origin")
    func relativeURL() async throws {
        defer { fake.stop() }
        let url = try await locator().streamURL(indexID: "idx-1", videoID: "vid-8[fake:hls_url=/media/other.m3u8]")
        #expect(url == fake.origin + "/media/other.m3u8")
    }

    @Test("a video whose stream is not COMPLETE is FAILED_PRECONDITION naming the status")
    func notReady() async throws {
        defer { fake.stop() }
        let error = try #require(await failure {
            try await locator().streamURL(indexID: "idx-1", videoID: "vid-8[fake:hls_status=PROCESSING]")
        })
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("not ready for streaming (status PROCESSING)"))
    }

    @Test("a video without hls is FAILED_PRECONDITION")
    func noHLS() async throws {
        defer { fake.stop() }
        let error = try #require(await failure {
            try await locator().streamURL(indexID: "idx-1", videoID: "vid-8[fake:hls=none]")
        })
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("no HLS stream"))
    }

    @Test("an unknown video or index is NOT_FOUND naming index_id and video_id", arguments: [
        ("idx-1", "missing-9"), ("missing-idx", "vid-8"),
    ])
    func notFound(indexID: String, videoID: String) async throws {
        defer { fake.stop() }
        let error = try #require(await failure { try await locator().streamURL(indexID: indexID, videoID: videoID) })
        #expect(error.code == .notFound)
        #expect(error.message.contains("index_id '\(indexID)'"))
        #expect(error.message.contains("video_id '\(videoID)'"))
        #expect(!error.retryable)
    }

    @Test("a second lookup is served from the cache; another video is not")
    func caching() async throws {
        defer { fake.stop() }
        let locator = locator()
        let copy = locator
        let first = try await locator.streamURL(indexID: "idx-1", videoID: "vid-8[fake:tag=cache]")
        let second = try await copy.streamURL(indexID: "idx-1", videoID: "vid-8[fake:tag=cache]")
        #expect(first == second)
        #expect(try await fake.requests(tag: "cache").count == 1)
        _ = try await locator.streamURL(indexID: "idx-2", videoID: "vid-8[fake:tag=cache]")
        #expect(try await fake.requests(tag: "cache").count == 2)
    }

    @Test("failures are not cached")
    func failuresNotCached() async throws {
        defer { fake.stop() }
        let locator = locator(retry: .none)
        let videoID = "vid-8[fake:status=503;times=1;tag=nocache]"
        #expect(await failure { try await locator.streamURL(indexID: "idx-1", videoID: videoID) }?.code == .unavailable)
        _ = try await locator.streamURL(indexID: "idx-1", videoID: videoID)
        #expect(try await fake.requests(tag: "nocache").count == 2)
    }

    @Test("a 429 once is retried after the asked delay")
    func rateLimitedOnce() async throws {
        defer { fake.stop() }
        let url = try await locator().streamURL(
            indexID: "idx-1", videoID: "vid-8[fake:status=429;times=1;retry_after=0.05;tag=r429]")
        #expect(url == fake.origin + "/media/vid-8.m3u8")
        #expect(try await fake.requests(tag: "r429").map { $0["status"] as? Int } == [429, 200])
    }

    @Test("5xx is UNAVAILABLE after every attempt was tried")
    func serverError() async throws {
        defer { fake.stop() }
        let error = try #require(await failure {
            try await locator().streamURL(indexID: "idx-1", videoID: "vid-8[fake:status=503;tag=r503]")
        })
        #expect(error.code == .unavailable)
        #expect(try await fake.requests(tag: "r503").count == 3)
    }

    @Test("a refused key is UNAUTHENTICATED naming TWELVELABS_API_KEY, never the key")
    func badKey() async throws {
        defer { fake.stop() }
        let badKey = "invalid-0123456789abcdef"
        let error = try #require(await failure {
            try await locator(key: badKey).streamURL(indexID: "idx-1", videoID: "vid-8[fake:tag=badkey]")
        })
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("TWELVELABS_API_KEY"))
        #expect(!error.message.contains(badKey))
        #expect(try await fake.requests(tag: "badkey").count == 1)
    }

    @Test("no key is UNAUTHENTICATED without a request")
    func missingKey() async throws {
        defer { fake.stop() }
        let error = try #require(await failure { try await locator(key: nil).streamURL(indexID: "idx-1", videoID: "vid-8") })
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("TWELVELABS_API_KEY"))
        #expect(try await fake.requests().isEmpty)
    }

    // MARK: Without sockets

    @Test("path segments are percent-encoded")
    func pathSegments() {
        #expect(TwelveLabsVideoLocator.pathSegment("6502a1b0c9d8e7f6") == "6502a1b0c9d8e7f6")
        #expect(TwelveLabsVideoLocator.pathSegment("a/b?c#d e") == "a%2Fb%3Fc%23d%20e")
        #expect(TwelveLabsVideoLocator.pathSegment("é-_.~") == "%C3%A9-_.~")
        #expect(TwelveLabsVideoLocator.pathSegment("..") == "%2E%2E")
    }

    @Test("cache entries expire after the TTL, and the oldest go first beyond capacity")
    func cacheExpiryAndCapacity() {
        let cache = TwelveLabsStreamURLCache(capacity: 2, ttl: .seconds(600))
        let start = ContinuousClock.now
        let a = TwelveLabsStreamURLCache.Key(indexID: "i", videoID: "a")
        let b = TwelveLabsStreamURLCache.Key(indexID: "i", videoID: "b")
        let c = TwelveLabsStreamURLCache.Key(indexID: "i", videoID: "c")
        cache.store("A", for: a, now: start)
        cache.store("B", for: b, now: start + .seconds(1))
        #expect(cache.url(for: a, now: start + .seconds(599)) == "A")
        #expect(cache.url(for: a, now: start + .seconds(600)) == nil)
        cache.store("A", for: a, now: start + .seconds(2))
        cache.store("C", for: c, now: start + .seconds(3))
        #expect(cache.count == 2)
        #expect(cache.url(for: b, now: start + .seconds(4)) == nil)
        #expect(cache.url(for: a, now: start + .seconds(4)) == "A")
        #expect(cache.url(for: c, now: start + .seconds(4)) == "C")
    }
}
