import ChorusCore
import ChorusCurl
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Synchronization

/// Shared set-up for the Gemini adapter tests: settings pointed at the fake, a text collector,
/// the fake's default answer, and helpers to read what the fake recorded.
enum GeminiTesting: ProviderTesting {
    /// `DEFAULT_TEXT["gemini"]` of tools/fake_upstream/fakeupstream/texts.py (2-, 3- and 4-byte
    /// UTF-8, a variation selector, a skin-tone modifier), spelled with escapes so no editor
    /// normalises it.
    static let defaultText =
        "The video opens on a rainy street in \u{6771}\u{4EAC}. A barista pours a caf\u{E9} cr\u{E8}me \u{2615}, "
        + "then the title card reads \u{AB} Fin \u{BB} \u{1F39E}\u{FE0F} \u{2014} "
        + "\u{65E5}\u{672C}\u{8A9E}\u{306E}\u{5B57}\u{5E55}\u{3082}\u{3042}\u{308A}\u{307E}\u{3059}. \u{1F44D}\u{1F3FD}"

    /// The thought part the fake sends first (the adapter must not show it).
    static let thoughtMarker = "Considering the clip"

    static let key = "gm-test-key-0123456789abcdef"
    static let model = "gemini-test"

    /// Fast retries: tests must not wait for production back-off.
    static let fastRetry = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10))

    /// Polling fast enough for tests.
    static let fastFiles = GeminiFileOptions(pollInterval: .milliseconds(20), maxProcessingWait: .seconds(10))

    static func settings(
        _ fake: FakeUpstream, key: String? = GeminiTesting.key, retry: RetryPolicy = GeminiTesting.fastRetry,
        http: CurlHTTPClient = CurlHTTPClient()
    ) -> UpstreamSettings {
        UpstreamSettings(
            provider: .gemini, baseURL: fake.geminiBaseURL, upstreamModel: model,
            apiKey: key.map { APIKey($0, source: "GEMINI_API_KEY") }, keyVariable: "GEMINI_API_KEY",
            connectTimeout: .seconds(5), retry: retry, http: http)
    }

    static func provider(
        _ fake: FakeUpstream, key: String? = GeminiTesting.key, retry: RetryPolicy = GeminiTesting.fastRetry,
        video: VideoInputs? = nil, files: GeminiFileOptions = GeminiTesting.fastFiles
    ) -> GeminiProvider {
        GeminiProvider(
            settings: settings(fake, key: key, retry: retry), video: video, files: files,
            logger: Logger(label: "gemini-test"))
    }

    /// Runs `provider` on `query`; returns the text it wrote (however it ended) and the outcome.
    static func run(
        _ provider: GeminiProvider, query: String, video: VideoReference = VideoReference(),
        maxOutputTokens: Int? = nil, temperature: Double? = nil, collector: TextCollector = TextCollector()
    ) async -> (text: String, result: Result<ModelCompletion, ChorusError>) {
        let prompt = ModelPrompt(
            model: "gemini", query: query, video: video, maxOutputTokens: maxOutputTokens, temperature: temperature,
            requestID: "req-gemini-test")
        do {
            let completion = try await provider.generate(prompt, output: collector.writer)
            return (collector.text, .success(completion))
        } catch {
            return (collector.text, .failure(ChorusError(from: error)))
        }
    }


    static func completion(_ result: Result<ModelCompletion, ChorusError>) -> ModelCompletion? {
        if case .success(let completion) = result { return completion }
        return nil
    }

    // MARK: What the fake recorded

    static func path(_ record: [String: Any]) -> String { record["path"] as? String ?? "" }
    static func method(_ record: [String: Any]) -> String { record["method"] as? String ?? "" }


    static func streams(_ records: [[String: Any]]) -> [[String: Any]] {
        records.filter { path($0).contains(":streamGenerateContent") }
    }

    static func uploadStarts(_ records: [[String: Any]]) -> [[String: Any]] {
        records.filter { method($0) == "POST" && path($0) == "/upload/v1beta/files" }
    }

    static func uploadBodies(_ records: [[String: Any]]) -> [[String: Any]] {
        records.filter { method($0) == "POST" && path($0).hasPrefix("/upload/v1beta/files?upload_id=") }
    }

    static func polls(_ records: [[String: Any]]) -> [[String: Any]] {
        records.filter { method($0) == "GET" && path($0).hasPrefix("/v1beta/files/") }
    }

    /// Clears the fake's records, `times` counters and stored files.
    static func reset(_ fake: FakeUpstream) async throws {
        let response = try await CurlHTTPClient().execute(HTTPRequestSpec(method: "POST", url: fake.origin + "/_fake/reset", body: []))
        _ = try await response.collectBody()
    }

    /// Polls the fake until it recorded that the client of the request tagged `tag` hung up.
    static func waitForClientGone(_ fake: FakeUpstream, tag: String, within limit: Duration = .seconds(5)) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await fake.requests(tag: tag).contains(where: { $0["client_gone"] as? Bool == true }) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
