public import ChorusCore
import ChorusMedia
import Foundation
public import Logging

/// TwelveLabs Pegasus through `POST {base}/analyze` with `stream: true`: the answer arrives as
/// NDJSON lines (`stream_start`, `text_generation`…, `stream_end`) and each piece of text is
/// written out as soon as its line is complete.
///
/// Pegasus analyses a video indexed at TwelveLabs (`video.videoID`), or a local video under the
/// server's media root (`video.videoPath`), sent inline as `video: {"type": "base64_string"}` when
/// it fits TwelveLabs' 30 MB base64 limit (``defaultMaxInlineVideoBytes`` of file). A request that
/// names no usable video fails with `FAILED_PRECONDITION` (or `INVALID_ARGUMENT` for a bad or too
/// large `video_path`) before any HTTP request. Failures map as in ``UpstreamErrors``, with a
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
    let video: VideoInputs?
    let maxInlineVideoBytes: Int
    let logger: Logger

    /// TwelveLabs takes at most 30 MB of base64 (providers.md §3.2): 22.5 MB of file.
    public static let defaultMaxInlineVideoBytes = 22_500_000

    /// - Parameters:
    ///   - video: where local videos (`video_path`) come from; nil refuses them.
    ///   - maxInlineVideoBytes: largest local video sent inline (base64).
    public init(settings: UpstreamSettings, video: VideoInputs? = nil, maxInlineVideoBytes: Int = TwelveLabsProvider.defaultMaxInlineVideoBytes, logger: Logger) {
        self.settings = settings
        self.video = video
        self.maxInlineVideoBytes = maxInlineVideoBytes
        self.logger = logger
    }

    /// What `/analyze` is asked about.
    enum VideoInput: Sendable {
        /// A video indexed at TwelveLabs.
        case indexed(videoID: String)
        /// A local video's bytes, base64, and the name to report it by.
        case inline(base64: String, name: String)

        var label: String {
            switch self {
            case .indexed(let videoID): videoID
            case .inline(_, let name): name
            }
        }
    }

    /// Streams Pegasus's answer about `prompt.video` (a TwelveLabs video id, or a local file).
    ///
    /// - Throws: ``ChorusCore/ChorusError``: `FAILED_PRECONDITION` without a usable video,
    ///   `INVALID_ARGUMENT` for a bad or too large `video_path`, `UNAUTHENTICATED` without a key,
    ///   and whatever TwelveLabs answered otherwise.
    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        let videoID = try TwelveLabsProvider.requireVideo(prompt, localVideos: video != nil)
        let key = try settings.requireKey()
        let input: VideoInput
        if let videoID {
            input = .indexed(videoID: videoID)
        } else {
            input = try await inlineVideo(for: prompt)
        }
        let body = try requestBody(prompt, input: input)
        var logger = self.logger
        logger[metadataKey: "request.id"] = "\(prompt.requestID)"
        logger[metadataKey: "model.name"] = "\(prompt.model)"
        logger[metadataKey: "twelvelabs.video"] = "\(input.label)"
        return try await UpstreamAttempts.run(retry: settings.retry, limiter: settings.limiter, output: output) {
            output, attempt in
            if attempt > 1 { logger.debug("retrying TwelveLabs analyze", metadata: ["upstream.attempt": "\(attempt)"]) }
            return try await streamOnce(body: body, key: key, video: input, output: output, logger: logger)
        }
    }

    /// The video id Pegasus is asked about, nil when it gets a local `video_path` instead, or an
    /// error saying what the request named and why that is not enough.
    static func requireVideo(_ prompt: ModelPrompt, localVideos: Bool) throws(ChorusError) -> String? {
        let video = prompt.video
        if let videoID = video.videoID { return videoID }
        let need = "\(prompt.model) needs video_id (a TwelveLabs video id, given with index_id/video_id)"
        if let path = video.videoPath {
            if localVideos { return nil }
            throw ChorusError(
                .failedPrecondition,
                "\(need); this request named only video_path '\(path)', and this server has no media root to read it "
                    + "from (start chorusd with --media-root DIR), so upload the video to a TwelveLabs index with Pegasus "
                    + "enabled and pass its video_id")
        }
        if let index = video.indexID {
            throw ChorusError(.failedPrecondition, "\(need); this request named only index_id '\(index)', not which video in it")
        }
        throw ChorusError(.failedPrecondition, "\(need); this request named no video")
    }

    /// The local video under the media root, read and base64-encoded, if it fits inline.
    private func inlineVideo(for prompt: ModelPrompt) async throws -> VideoInput {
        guard let video, let source = try await video.source(for: prompt.video, model: prompt.model) else {
            throw ChorusError(.failedPrecondition, "\(prompt.model) needs a video: this request named none")
        }
        let size = try await video.library.sizeBytes(of: source)
        guard size <= maxInlineVideoBytes else {
            throw ChorusError(
                .invalidArgument,
                "the video '\(source.displayName)' is \(size) bytes; \(prompt.model) takes local videos of at most "
                    + "\(maxInlineVideoBytes) bytes inline (TwelveLabs' 30 MB base64 limit): index it at TwelveLabs and pass its video_id")
        }
        let bytes = try await video.library.contents(of: source)
        return .inline(base64: Data(bytes).base64EncodedString(), name: source.displayName)
    }

    /// The `/analyze` body (providers.md §3.2).
    func requestBody(_ prompt: ModelPrompt, input: VideoInput) throws -> [UInt8] {
        var body = AnalyzeBody(
            prompt: prompt.query, modelName: settings.upstreamModel,
            temperature: prompt.temperature, maxTokens: prompt.maxOutputTokens)
        switch input {
        case .indexed(let videoID): body.videoID = videoID
        case .inline(let base64, _): body.video = InlineVideo(base64String: base64)
        }
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
        var videoID: String?
        var video: InlineVideo?
        var prompt: String
        var modelName: String
        var temperature: Double?
        var maxTokens: Int?
        var stream = true

        enum CodingKeys: String, CodingKey {
            case videoID = "video_id"
            case video
            case prompt
            case modelName = "model_name"
            case temperature
            case maxTokens = "max_tokens"
            case stream
        }
    }

    /// `video: {"type": "base64_string", "base64_string": …}`: one of the inline video forms (the
    /// others are `url` and `asset_id`); exclusive with `video_id`.
    struct InlineVideo: Encodable {
        var type = "base64_string"
        var base64String: String

        enum CodingKeys: String, CodingKey {
            case type
            case base64String = "base64_string"
        }
    }
}
