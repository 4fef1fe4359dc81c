public import ChorusCore
import ChorusMedia
public import Logging

/// GPT-4o (and any OpenAI-compatible server: vLLM, Ollama, llama.cpp, …) through the streaming
/// Chat Completions API.
///
/// Chat Completions cannot take a video, so when the prompt names one the adapter samples a few
/// frames (``FrameSampling``) once per call and sends them as inline JPEG `image_url` parts after
/// the question. The answer is streamed: every decoded `delta.content` is written to the output
/// as soon as it arrives. Failures before any text went out are retried under the settings'
/// ``RetryPolicy`` (429s wait as long as OpenAI asks, or until its rate limit resets).
///
/// ```swift
/// let settings = UpstreamSettings(
///     provider: .openAI, baseURL: "https://api.openai.com/v1", upstreamModel: "gpt-4o",
///     apiKey: try APIKey.load(variable: "OPENAI_API_KEY", file: nil), keyVariable: "OPENAI_API_KEY")
/// let gpt4o = OpenAIProvider(settings: settings, video: inputs, logger: logger)
/// let completion = try await gpt4o.generate(ModelPrompt(model: "gpt4o", query: "What happens?"), output: writer)
/// ```
public struct OpenAIProvider: ModelProvider {
    let settings: UpstreamSettings
    /// Where videos come from; nil when this server has no video access configured.
    let video: VideoInputs?
    let frames: FrameSampling
    let logger: Logger

    /// `openai` or `openai-compatible`.
    public var kind: String { settings.provider.rawValue }

    /// - Parameters:
    ///   - settings: provider `.openAI` (a key is required) or `.openAICompatible` (the key is
    ///     optional and sent only when configured).
    ///   - video: the server's video inputs; nil makes any prompt naming a video fail.
    ///   - frames: how many frames to send per video, and at which size and detail.
    public init(settings: UpstreamSettings, video: VideoInputs?, frames: FrameSampling = FrameSampling(), logger: Logger) {
        self.settings = settings
        self.video = video
        self.frames = frames
        self.logger = logger
    }

    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        var logger = self.logger
        logger[metadataKey: "model"] = "\(prompt.model)"
        if !prompt.requestID.isEmpty { logger[metadataKey: "request_id"] = "\(prompt.requestID)" }

        // OpenAI itself refuses keyless requests; local servers usually need no key at all.
        let key = try settings.provider == .openAICompatible ? settings.apiKey : settings.requireKey()
        // Sampled once: a retry must not pay for ffmpeg again. Fetching the video and running ffmpeg
        // is not the model being silent (ModelOutputWriter.preparing).
        let (sampled, videoName) = try await output.preparing { try await sampleFrames(for: prompt, logger: logger) }
        let request = try makeRequest(prompt, frames: sampled, videoName: videoName, key: key)

        return try await UpstreamAttempts.run(retry: settings.retry, limiter: settings.limiter, output: output) {
            output, attempt in
            if attempt > 1 { logger.debug("retrying upstream request", metadata: ["attempt": "\(attempt)"]) }
            return try await streamOnce(request, output: output, logger: logger)
        }
    }

    /// The frames to send for `prompt`'s video (none when it names no video) and the video's name.
    private func sampleFrames(for prompt: ModelPrompt, logger: Logger) async throws -> ([VideoFrame], String?) {
        guard !prompt.video.isEmpty else { return ([], nil) }
        guard let video else {
            throw ChorusError(
                .failedPrecondition,
                "model '\(prompt.model)' cannot see the video: this server has no video access configured for it")
        }
        guard let source = try await video.source(for: prompt.video, model: prompt.model) else { return ([], nil) }
        let sampled = try await video.library.frames(of: source, count: frames.count, maxWidth: frames.maxWidth)
        guard !sampled.isEmpty else {
            // Answering without the pictures would look like an answer about the video.
            throw ChorusError(.failedPrecondition, "no frames could be taken from the video \(source.displayName)")
        }
        logger.debug("sampled video frames", metadata: ["video": "\(source.displayName)", "frames": "\(sampled.count)"])
        return (sampled, source.displayName)
    }
}
