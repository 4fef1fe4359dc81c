import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Synchronization

/// Shared set-up for the TwelveLabs adapter and locator tests: settings pointed at the fake and
/// the fake's default Pegasus answer.
enum TwelveLabsTesting: ProviderTesting {
    /// `DEFAULT_TEXT["pegasus"]` of tools/fake_upstream/fakeupstream/texts.py (2-, 3- and 4-byte
    /// UTF-8, a variation selector), spelled with escapes so that no editor can normalise it.
    static let defaultText =
        "R\u{E9}sum\u{E9}: two hikers cross a glacier at dawn \u{1F3D4}\u{FE0F}; the narrator says "
        + "\u{300C}\u{7D20}\u{6674}\u{3089}\u{3057}\u{3044}\u{300D} while a drone \u{1F681} circles. "
        + "Total: 3 sc\u{E8}nes, one finale \u{1F389}."

    /// The fake's `text_generation` lines for `text` (8 code points each), which is also the
    /// `output_tokens` it reports.
    static func pieces(_ text: String, piece: Int = 8) -> Int {
        (text.unicodeScalars.count + piece - 1) / piece
    }

    static let key = "tlk_test_0123456789abcdef"
    static let keyVariable = "TWELVELABS_API_KEY"
    static let video = VideoReference(indexID: "idx-1", videoID: "vid-8")

    /// Fast retries: tests must not wait for production back-off.
    static let fastRetry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10))

    static func settings(
        _ fake: FakeUpstream, key: String? = TwelveLabsTesting.key, retry: RetryPolicy = TwelveLabsTesting.fastRetry,
        limiter: ConcurrencyLimiter? = nil
    ) -> UpstreamSettings {
        UpstreamSettings(
            provider: .twelveLabs, baseURL: fake.twelveLabsBaseURL, upstreamModel: "pegasus1.2",
            apiKey: key.map { APIKey($0, source: keyVariable) }, keyVariable: keyVariable,
            connectTimeout: .seconds(5), retry: retry, limiter: limiter)
    }

    static func provider(_ settings: UpstreamSettings, logger: Logger = Logger(label: "twelvelabs-test")) -> TwelveLabsProvider {
        TwelveLabsProvider(settings: settings, logger: logger)
    }

    /// Runs `provider` on `query`; returns the chunks it wrote (however it ended) and the outcome.
    static func run(
        _ provider: TwelveLabsProvider, query: String, video: VideoReference = TwelveLabsTesting.video,
        maxOutputTokens: Int? = nil, temperature: Double? = nil, collector: TextCollector = TextCollector()
    ) async -> (chunks: [String], result: Result<ModelCompletion, ChorusError>) {
        let prompt = ModelPrompt(
            model: "pegasus", query: query, video: video, maxOutputTokens: maxOutputTokens, temperature: temperature,
            requestID: "req-tl")
        do {
            let completion = try await provider.generate(prompt, output: collector.writer)
            return (collector.chunks, .success(completion))
        } catch {
            return (collector.chunks, .failure(ChorusError(from: error)))
        }
    }



    /// Polls the fake's records until `condition` holds for those tagged `tag` (at most ~5 s).
    static func waitForRecords(
        _ fake: FakeUpstream, tag: String, until condition: ([[String: Any]]) -> Bool
    ) async throws -> [[String: Any]] {
        var records: [[String: Any]] = []
        for _ in 0..<100 {
            records = try await fake.requests(tag: tag)
            if condition(records) { return records }
            try await Task.sleep(for: .milliseconds(50))
        }
        return records
    }
}
