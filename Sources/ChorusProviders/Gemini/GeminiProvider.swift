public import ChorusCore
import ChorusMedia
public import Logging

/// Answers with Google Gemini through `streamGenerateContent` (SSE), streaming each piece of the
/// answer as it arrives. A local video is uploaded once through the Files API and referenced by
/// its URI; uploads are cached per video content for as long as Google keeps the file.
///
/// ```swift
/// let settings = UpstreamSettings(
///     provider: .gemini, baseURL: "https://generativelanguage.googleapis.com/v1beta",
///     upstreamModel: "gemini-3.5-flash",
///     apiKey: try APIKey.load(variable: "GEMINI_API_KEY", file: nil), keyVariable: "GEMINI_API_KEY")
/// let gemini = GeminiProvider(settings: settings, video: inputs, logger: logger)
/// let completion = try await gemini.generate(
///     ModelPrompt(model: "gemini", query: "What happens?", video: VideoReference(videoPath: "clip.mp4")),
///     output: ModelOutputWriter { print($0, terminator: "") })
/// ```
public struct GeminiProvider: ModelProvider {
    let settings: UpstreamSettings
    let video: VideoInputs?
    let uploader: GeminiFileUploader
    let logger: Logger
    /// Shared by every copy of this provider: one upload per video per configured model.
    let files: GeminiFileStore

    public var kind: String { "gemini" }

    /// - Parameters:
    ///   - settings: where and how to reach the Gemini API; `baseURL` includes the version
    ///     (`…/v1beta`), from which the Files API upload URL is derived too.
    ///   - video: how to read the videos prompts name; nil when the server has no video access.
    ///   - files: polling of uploaded videos until Google has processed them, and their deletion.
    ///   - uploads: deletes the files this provider uploaded once unused for
    ///     ``GeminiFileOptions/keepUnused`` and when the server stops; nil never deletes them.
    ///   - name: the model's name, for the janitor's logs.
    public init(
        settings: UpstreamSettings, video: VideoInputs?, files: GeminiFileOptions = GeminiFileOptions(),
        uploads: UploadJanitor? = nil, name: String = "gemini", logger: Logger
    ) {
        self.settings = settings
        self.video = video
        self.logger = logger
        let uploader = GeminiFileUploader(settings: settings, options: files, logger: logger, janitor: uploads, model: name)
        // Uses are recorded on the janitor's clock, which decides what has gone unused.
        let store = uploads.map { GeminiFileStore(now: $0.now) } ?? GeminiFileStore()
        self.uploader = uploader
        self.files = store
        uploads?.register(
            name: name, keepUnused: files.keepUnused, deleteOnExit: files.deleteOnExit, cache: store, delete: uploader.delete)
    }

    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        let key = try settings.requireKey()
        // Fetching and uploading the video is not the model being silent (see ModelOutputWriter.preparing).
        let prepared = try await output.preparing { () async throws -> (LocalVideoName, GeminiFile)? in
            guard let local = try await localVideo(for: prompt) else { return nil }
            return (local, try await uploadedFile(local))
        }
        guard let (local, file) = prepared else {
            return try await stream(prompt, file: nil, key: key, output: output, fileRejected: nil)
        }
        // The janitor leaves a file alone while a question about it runs, however long.
        files.retain(key: local.video.sha256)
        defer { files.release(key: local.video.sha256) }
        let rejected = GeminiFileRejection()
        do {
            return try await stream(prompt, file: file, key: key, output: output, fileRejected: rejected)
        } catch where rejected.happened {
            // Google may delete or lose a file before its announced expiry; one fresh upload is
            // worth it, a second refusal is reported as is.
            logger.info("gemini refused the uploaded video; uploading it again", metadata: [
                "file": "\(file.name)", "error": "\(error)", "request_id": "\(prompt.requestID)",
            ])
            files.invalidate(key: local.video.sha256, uri: file.uri)
            let fresh = try await output.preparing { try await uploadedFile(local) }
            return try await stream(prompt, file: fresh, key: key, output: output, fileRejected: nil)
        }
    }

    // MARK: - Video

    /// A local copy of a video with the name to show for it.
    typealias LocalVideoName = (video: LocalVideo, displayName: String)

    /// A local copy of the prompt's video with the name to show for it; nil for a text-only prompt.
    private func localVideo(for prompt: ModelPrompt) async throws -> LocalVideoName? {
        guard !prompt.video.isEmpty else { return nil }
        guard let video else {
            throw ChorusError(.failedPrecondition, "model '\(prompt.model)' cannot see videos: this server has no video access configured")
        }
        guard let source = try await video.source(for: prompt.video, model: prompt.model) else { return nil }
        return (try await video.library.localFile(of: source), source.displayName)
    }

    /// The `ACTIVE` Files API copy of the video: cached, joined while in flight, or uploaded now.
    private func uploadedFile(_ local: LocalVideoName) async throws -> GeminiFile {
        let uploader = self.uploader
        return try await files.file(for: local.video.sha256) {
            try await uploader.upload(local.video, displayName: local.displayName)
        }
    }
}
