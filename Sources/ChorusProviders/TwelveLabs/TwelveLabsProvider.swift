public import ChorusCore
import Foundation
public import Logging

/// TwelveLabs Pegasus through `POST {base}/analyze` with `stream: true`: the answer arrives as
/// NDJSON lines (`stream_start`, `text_generation`…, `stream_end`) and each piece of text is
/// written out as soon as its line is complete.
///
/// Pegasus analyses a video that is already indexed at TwelveLabs, so a prompt must carry
/// `video.videoID`; a request that names no video, or only a local `video_path`, fails with
/// `FAILED_PRECONDITION` before any HTTP request. Failures map as in ``UpstreamErrors``, with a
/// 404 naming the video and a 429 delay read from TwelveLabs' message or `X-Ratelimit-Reset`
/// (see ``TwelveLabsErrors``). Attempts run under the model's concurrency limit and retry policy
/// (``UpstreamAttempts``).
///
/// ```swift
/// let settings = UpstreamSettings(
///     provider: .twelveLabs, baseURL: "https://api.twelvelabs.io/v1.3", upstreamModel: "pegasus1.2",
///     apiKey: try APIKey.load(variable: "TWELVELABS_API_KEY", file: nil), keyVariable: "TWELVELABS_API_KEY")
/// let pegasus = TwelveLabsProvider(settings: settings, logger: logger)
/// let prompt = ModelPrompt(model: "pegasus", query: "What happens?", video: VideoReference(indexID: "idx", videoID: "vid"))
/// let completion = try await pegasus.generate(prompt, output: writer)
/// ```
public struct TwelveLabsProvider: ModelProvider {
    public var kind: String { "twelvelabs" }
    public let settings: UpstreamSettings
    let logger: Logger

    public init(settings: UpstreamSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Streams Pegasus's answer about `prompt.video.videoID`.
    ///
    /// - Throws: ``ChorusCore/ChorusError``: `FAILED_PRECONDITION` without a video id,
    ///   `UNAUTHENTICATED` without a key, and whatever TwelveLabs answered otherwise.
    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        let videoID = try TwelveLabsProvider.requireVideoID(prompt)
        let key = try settings.requireKey()
        let body = try requestBody(prompt, videoID: videoID)
        var logger = self.logger
        logger[metadataKey: "request.id"] = "\(prompt.requestID)"
        logger[metadataKey: "model.name"] = "\(prompt.model)"
        logger[metadataKey: "twelvelabs.video_id"] = "\(videoID)"
        return try await UpstreamAttempts.run(retry: settings.retry, limiter: settings.limiter, output: output) {
            output, attempt in
            if attempt > 1 { logger.debug("retrying TwelveLabs analyze", metadata: ["upstream.attempt": "\(attempt)"]) }
            return try await streamOnce(body: body, key: key, videoID: videoID, output: output, logger: logger)
        }
    }

    /// The video id Pegasus needs, or an error saying what the request named instead and why that
    /// is not enough: `/analyze` reads only videos already indexed at TwelveLabs.
    static func requireVideoID(_ prompt: ModelPrompt) throws(ChorusError) -> String {
        let video = prompt.video
        if let videoID = video.videoID { return videoID }
        let need = "\(prompt.model) needs video_id (a TwelveLabs video id, given with index_id/video_id)"
        if let path = video.videoPath {
            throw ChorusError(
                .failedPrecondition,
                "\(need); this request named only video_path '\(path)': TwelveLabs analyses only videos in its own "
                    + "indexes, so upload the video to a TwelveLabs index with Pegasus enabled and pass its video_id")
        }
        if let index = video.indexID {
            throw ChorusError(.failedPrecondition, "\(need); this request named only index_id '\(index)', not which video in it")
        }
        throw ChorusError(.failedPrecondition, "\(need); this request named no video")
    }

    /// The `/analyze` body (providers.md §3.2).
    func requestBody(_ prompt: ModelPrompt, videoID: String) throws -> [UInt8] {
        let body = AnalyzeBody(
            videoID: videoID, prompt: prompt.query, modelName: settings.upstreamModel,
            temperature: prompt.temperature, maxTokens: prompt.maxOutputTokens)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return Array(try encoder.encode(body))
    }

    /// Wire shape of the analyze request.
    ///
    /// `model_name` is sent: providers.md §3.2 lists it in v1.3's `AnalyzeStreamRequest` (twelvelabs-js),
    /// where it picks `pegasus1.2` (the default) or a newer Pegasus, so the registry's upstream model is
    /// what actually runs instead of whatever TwelveLabs defaults to next year. `video_id` is the
    /// Pegasus 1.2 input; `stream` is always explicit because the v1.2 docs disagree on its default.
    struct AnalyzeBody: Encodable {
        var videoID: String
        var prompt: String
        var modelName: String
        var temperature: Double?
        var maxTokens: Int?
        var stream = true

        enum CodingKeys: String, CodingKey {
            case videoID = "video_id"
            case prompt
            case modelName = "model_name"
            case temperature
            case maxTokens = "max_tokens"
            case stream
        }
    }
}
