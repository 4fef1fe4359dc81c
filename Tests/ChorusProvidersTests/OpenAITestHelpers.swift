import ChorusCore
import ChorusCurl
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Synchronization

/// Shared set-up for the OpenAI adapter tests: settings pointed at the fake, a text collector,
/// and the fake's default answer.
enum OpenAITesting: ProviderTesting {
    /// `DEFAULT_TEXT["openai"]` of tools/fake_upstream/fakeupstream/texts.py (2-, 3- and 4-byte
    /// UTF-8, a ZWJ sequence), spelled with escapes so that no editor can normalise it.
    static let defaultText =
        "Caf\u{E9} scene: a chef plates cr\u{E8}me br\u{FB}l\u{E9}e in T\u{14D}ky\u{14D} \u{2014} "
        + "\u{65E5}\u{672C}\u{306E}\u{6599}\u{7406} \u{1F363}\u{1F3AC}. The camera pans across "
        + "na\u{EF}ve fa\u{E7}ades; \u{1F469}\u{200D}\u{1F373} smiles. Done \u{2713}"

    /// The fake's content events for `text` at its default piece size (8 code points), which is
    /// also the `completion_tokens` it reports.
    static func pieces(_ text: String, piece: Int = 8) -> Int {
        (text.unicodeScalars.count + piece - 1) / piece
    }

    static let key = "sk-test-0123456789abcdef"

    /// Fast retries: tests must not wait for production back-off.
    static let fastRetry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10))

    static func settings(
        _ fake: FakeUpstream, provider: UpstreamProvider = .openAI, baseURL: String? = nil,
        key: String? = OpenAITesting.key, retry: RetryPolicy = OpenAITesting.fastRetry
    ) -> UpstreamSettings {
        UpstreamSettings(
            provider: provider, baseURL: baseURL ?? fake.openAIBaseURL, upstreamModel: "gpt-4o",
            apiKey: key.map { APIKey($0, source: "OPENAI_API_KEY") }, keyVariable: "OPENAI_API_KEY",
            connectTimeout: .seconds(5), retry: retry)
    }

    static func provider(
        _ settings: UpstreamSettings, video: VideoInputs? = nil, frames: FrameSampling = FrameSampling(),
        logger: Logger = Logger(label: "openai-test")
    ) -> OpenAIProvider {
        OpenAIProvider(settings: settings, video: video, frames: frames, logger: logger)
    }

    /// Runs `provider` on `query`; returns the text it wrote (however it ended) and the outcome.
    static func run(
        _ provider: OpenAIProvider, query: String, video: VideoReference = VideoReference(),
        maxOutputTokens: Int? = nil, temperature: Double? = nil, collector: TextCollector = TextCollector()
    ) async -> (text: String, result: Result<ModelCompletion, ChorusError>) {
        let prompt = ModelPrompt(
            model: "gpt4o", query: query, video: video, maxOutputTokens: maxOutputTokens, temperature: temperature,
            requestID: "req-test")
        do {
            let completion = try await provider.generate(prompt, output: collector.writer)
            return (collector.text, .success(completion))
        } catch {
            return (collector.text, .failure(ChorusError(from: error)))
        }
    }


}
