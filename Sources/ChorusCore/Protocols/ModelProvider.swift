/// Something that answers a prompt by streaming text: the demo models now, real APIs later.
///
/// A provider writes chunks to `output` as they are generated and returns how the answer ended.
/// It must stop promptly when its task is cancelled (every `await` on `output.write` and any
/// `Task.sleep` does that for free) and throw a ``ChorusError`` describing any failure.
///
/// ```swift
/// struct Echo: ModelProvider {
///     var kind: String { "echo" }
///     func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
///         try await output.write(prompt.query)
///         return ModelCompletion(finishReason: "stop")
///     }
/// }
/// ```
public protocol ModelProvider: Sendable {
    /// Provider kind reported in `model_start` and `ListModels`, e.g. `demo`.
    var kind: String { get }

    func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion
}

/// What a provider is asked.
public struct ModelPrompt: Sendable {
    /// Registry name of the model being run (e.g. `gemini`).
    public var model: String
    public var query: String
    public var video: VideoReference
    public var maxOutputTokens: Int?
    public var temperature: Double?
    public var requestID: String

    public init(model: String, query: String, video: VideoReference = VideoReference(), maxOutputTokens: Int? = nil, temperature: Double? = nil, requestID: String = "") {
        self.model = model
        self.query = query
        self.video = video
        self.maxOutputTokens = maxOutputTokens
        self.temperature = temperature
        self.requestID = requestID
    }
}

/// How a provider's answer ended.
public struct ModelCompletion: Sendable, Hashable {
    /// e.g. `stop`, `length`, `content_filter`.
    public var finishReason: String
    public var outputTokens: Int?
    public var cached: Bool

    public init(finishReason: String, outputTokens: Int? = nil, cached: Bool = false) {
        self.finishReason = finishReason
        self.outputTokens = outputTokens
        self.cached = cached
    }
}

/// Where a provider writes its text. Each write may suspend while the caller's client is slow.
public struct ModelOutputWriter: Sendable {
    private let writeChunk: @Sendable (String) async throws -> Void

    public init(_ write: @escaping @Sendable (String) async throws -> Void) {
        self.writeChunk = write
    }

    /// Forwards one chunk of text. Empty chunks are dropped.
    public func write(_ text: String) async throws {
        guard !text.isEmpty else { return }
        try await writeChunk(text)
    }
}
