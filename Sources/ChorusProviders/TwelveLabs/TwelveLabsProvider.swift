public import ChorusCore
import ChorusMedia
import Foundation
public import Logging

/// TwelveLabs Pegasus through `POST {base}/analyze` with `stream: true`: the answer arrives as
/// NDJSON lines (`stream_start`, `text_generation`…, `stream_end`) and each piece of text is
/// written out as soon as its line is complete.
///
/// Pegasus analyses a video indexed at TwelveLabs (`video.videoID`), or a local video under the
/// server's media root (`video.videoPath`): sent inline as `video: {"type": "base64_string"}` when
/// it fits TwelveLabs' 30 MB base64 limit (``defaultMaxInlineVideoBytes`` of file), otherwise
/// uploaded once as a TwelveLabs asset (up to 200 MB, see ``TwelveLabsAssetOptions``) and named as
/// `video: {"type": "asset_id"}`; the asset is reused for every later question about the same
/// content (by SHA-256), and uploaded again once if TwelveLabs no longer knows it. A request that
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
    let uploader: TwelveLabsAssetUploader
    /// Shared by every copy of this provider: one upload per video per configured model.
    let assets: UploadCache<TwelveLabsAsset>

    /// TwelveLabs takes at most 30 MB of base64 (providers.md §3.2): 22.5 MB of file.
    public static let defaultMaxInlineVideoBytes = 22_500_000

    /// - Parameters:
    ///   - video: where local videos (`video_path`) come from; nil refuses them.
    ///   - maxInlineVideoBytes: largest local video sent inline (base64); larger ones are uploaded
    ///     as assets.
    ///   - assets: how larger local videos are uploaded, waited for and deleted.
    ///   - uploads: deletes the assets this provider uploaded once unused for
    ///     ``TwelveLabsAssetOptions/keepUnused`` and when the server stops; nil never deletes them.
    ///   - name: the model's name, for the janitor's logs.
    public init(
        settings: UpstreamSettings, video: VideoInputs? = nil, maxInlineVideoBytes: Int = TwelveLabsProvider.defaultMaxInlineVideoBytes,
        assets: TwelveLabsAssetOptions = TwelveLabsAssetOptions(), uploads: UploadJanitor? = nil, name: String = "twelvelabs",
        logger: Logger
    ) {
        self.settings = settings
        self.video = video
        self.maxInlineVideoBytes = maxInlineVideoBytes
        self.logger = logger
        let uploader = TwelveLabsAssetUploader(settings: settings, options: assets, logger: logger, janitor: uploads, model: name)
        // Uses are recorded on the janitor's clock, which decides what has gone unused.
        let cache = uploads.map { UploadCache<TwelveLabsAsset>(now: $0.now) } ?? UploadCache<TwelveLabsAsset>()
        self.uploader = uploader
        self.assets = cache
        uploads?.register(
            name: name, keepUnused: assets.keepUnused, deleteOnExit: assets.deleteOnExit, cache: cache, delete: uploader.delete)
    }

    /// What `/analyze` is asked about.
    enum VideoInput: Sendable {
        /// A video indexed at TwelveLabs.
        case indexed(videoID: String)
        /// A local video's bytes, base64, and the name to report it by.
        case inline(base64: String, name: String)
        /// A local video uploaded as a TwelveLabs asset (cached in ``assets`` by `video.sha256`).
        case asset(id: String, name: String, video: LocalVideo)

        /// The key of an uploaded asset in ``TwelveLabsProvider/assets``; nil for other inputs.
        var cacheKey: String? {
            if case .asset(_, _, let video) = self { return video.sha256 }
            return nil
        }

        var label: String {
            switch self {
            case .indexed(let videoID): videoID
            case .inline(_, let name): name
            case .asset(let id, let name, _): "\(name) (asset \(id))"
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
            // Reading and uploading the video is not the model being silent (ModelOutputWriter.preparing).
            input = try await output.preparing { try await localVideo(for: prompt) }
        }
        // The janitor leaves an asset alone while a question about it runs, however long.
        let lease = input.cacheKey
        if let lease { assets.retain(key: lease) }
        defer { if let lease { assets.release(key: lease) } }
        do {
            return try await analyze(prompt, input: input, key: key, output: output)
        } catch let error as ChorusError where error.code == .notFound {
            // TwelveLabs may delete an asset it once had; one fresh upload is worth it, a second
            // refusal is reported as is. (A 404 is an HTTP status: no text was written yet.)
            guard case .asset(let id, let name, let local) = input else { throw error }
            logger.info("twelvelabs no longer knows the uploaded video; uploading it again", metadata: [
                "asset": "\(id)", "error": "\(error)", "request.id": "\(prompt.requestID)",
            ])
            assets.invalidate(key: local.sha256) { $0.id == id }
            let fresh = try await output.preparing { try await uploadedAsset(local, name: name) }
            return try await analyze(prompt, input: fresh, key: key, output: output)
        }
    }

    private func analyze(_ prompt: ModelPrompt, input: VideoInput, key: APIKey, output: ModelOutputWriter) async throws -> ModelCompletion {
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

    /// The local video under the media root: read and base64-encoded if it fits inline, else
    /// uploaded as an asset (or the asset of an earlier upload of the same content).
    private func localVideo(for prompt: ModelPrompt) async throws -> VideoInput {
        guard let video, let source = try await video.source(for: prompt.video, model: prompt.model) else {
            throw ChorusError(.failedPrecondition, "\(prompt.model) needs a video: this request named none")
        }
        let size = try await video.library.sizeBytes(of: source)
        if size <= maxInlineVideoBytes {
            let bytes = try await video.library.contents(of: source)
            return .inline(base64: Data(bytes).base64EncodedString(), name: source.displayName)
        }
        let limit = uploader.options.maxUploadBytes
        guard size <= limit else {
            throw ChorusError(
                .invalidArgument,
                "the video '\(source.displayName)' is \(UpstreamSettings.mebibytes(size)); \(prompt.model) uploads local videos of "
                    + "at most \(UpstreamSettings.mebibytes(limit)) (TwelveLabs' limit for local files): index it at TwelveLabs "
                    + "and pass its video_id")
        }
        return try await uploadedAsset(try await video.library.localFile(of: source), name: source.displayName)
    }

    /// The `ready` asset of `local`: cached, joined while an upload is in flight, or uploaded now.
    private func uploadedAsset(_ local: LocalVideo, name: String) async throws -> VideoInput {
        let uploader = self.uploader
        let asset = try await assets.value(for: local.sha256) {
            try await uploader.upload(local, displayName: name)
        }
        return .asset(id: asset.id, name: name, video: local)
    }

    /// The `/analyze` body (providers.md §3.2).
    func requestBody(_ prompt: ModelPrompt, input: VideoInput) throws -> [UInt8] {
        var body = AnalyzeBody(
            prompt: prompt.query, modelName: settings.upstreamModel,
            temperature: prompt.temperature, maxTokens: prompt.maxOutputTokens)
        switch input {
        case .indexed(let videoID): body.videoID = videoID
        case .inline(let base64, _): body.video = VideoContext(type: "base64_string", base64String: base64)
        case .asset(let id, _, _): body.video = VideoContext(type: "asset_id", assetID: id)
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
        var video: VideoContext?
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

    /// `video: {"type": "base64_string", "base64_string": …}` or `{"type": "asset_id", "asset_id": …}`
    /// (the third form, `url`, is not used); exclusive with `video_id`.
    struct VideoContext: Encodable {
        var type: String
        var base64String: String?
        var assetID: String?

        enum CodingKeys: String, CodingKey {
            case type
            case base64String = "base64_string"
            case assetID = "asset_id"
        }
    }
}
