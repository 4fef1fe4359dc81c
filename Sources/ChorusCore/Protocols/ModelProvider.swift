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
///
/// A provider that must do work before it can ask for an answer (upload a video, wait for the
/// upstream to process it, sample frames) wraps that work in ``preparing(_:)``: the model's
/// first-chunk and idle timeouts do not run meanwhile, its total timeout does.
///
/// ```swift
/// let file = try await output.preparing { try await uploader.upload(video) }
/// try await output.write("The video shows")
/// ```
///
/// A provider whose chunks come from a timer rather than from its own task (the demo models pace
/// theirs on a ``Ticker``) can write without suspending, when the writer supports it:
///
/// ```swift
/// if output.canWriteWithoutWaiting, try output.writeWithoutWaiting(chunk) == .mustWait {
///     try await output.waitForRoom()
/// }
/// ```
public struct ModelOutputWriter: Sendable {
    /// What ``writeWithoutWaiting(_:)`` did with a chunk.
    public enum ImmediateWrite: Sendable, Hashable {
        /// Written, and the consumer has room for more.
        case written
        /// Written, but the consumer is behind: call ``waitForRoom()`` before writing again.
        case mustWait
    }

    /// The synchronous half of a writer: writes one chunk without suspending, and waits for room.
    public struct Immediate: Sendable {
        public var write: @Sendable (String) throws -> ImmediateWrite
        public var waitForRoom: @Sendable () async throws -> Void

        public init(
            write: @escaping @Sendable (String) throws -> ImmediateWrite,
            waitForRoom: @escaping @Sendable () async throws -> Void
        ) {
            self.write = write
            self.waitForRoom = waitForRoom
        }
    }

    private let writeChunk: @Sendable (String) async throws -> Void
    private let immediate: Immediate?
    private let preparation: (@Sendable (_ active: Bool) -> Void)?

    /// - Parameters:
    ///   - write: receives every non-empty chunk.
    ///   - immediate: the same destination without suspending (``writeWithoutWaiting(_:)``); nil
    ///     when writes must go through `write`.
    ///   - preparation: told `true` when a ``preparing(_:)`` step begins and `false` when it ends
    ///     (steps may nest or overlap); nil when nobody keeps clocks.
    public init(
        _ write: @escaping @Sendable (String) async throws -> Void,
        immediate: Immediate? = nil,
        preparation: (@Sendable (_ active: Bool) -> Void)? = nil
    ) {
        self.writeChunk = write
        self.immediate = immediate
        self.preparation = preparation
    }

    /// A writer that sends chunks to `write` and reports preparation steps to the same observer
    /// as this one: for a wrapper that watches the chunks going by. It cannot write without waiting.
    public func forwarding(_ write: @escaping @Sendable (String) async throws -> Void) -> ModelOutputWriter {
        ModelOutputWriter(write, preparation: preparation)
    }

    /// Forwards one chunk of text. Empty chunks are dropped.
    public func write(_ text: String) async throws {
        guard !text.isEmpty else { return }
        try await writeChunk(text)
    }

    /// True when ``writeWithoutWaiting(_:)`` works with this writer.
    public var canWriteWithoutWaiting: Bool { immediate != nil }

    /// Forwards one chunk without suspending: for a provider that writes from a timer's callback
    /// rather than from its task. Empty chunks are dropped (and reported `written`).
    ///
    /// After `mustWait` the provider calls ``waitForRoom()`` once before writing again, which is
    /// where a slow consumer holds it back, as ``write(_:)`` would have.
    ///
    /// - Precondition: ``canWriteWithoutWaiting``.
    public func writeWithoutWaiting(_ text: String) throws -> ImmediateWrite {
        guard let immediate else { preconditionFailure("this ModelOutputWriter cannot write without waiting") }
        guard !text.isEmpty else { return .written }
        return try immediate.write(text)
    }

    /// Waits until the consumer has room again, after ``writeWithoutWaiting(_:)`` answered `mustWait`.
    public func waitForRoom() async throws {
        guard let immediate else { preconditionFailure("this ModelOutputWriter cannot write without waiting") }
        try await immediate.waitForRoom()
    }

    /// Runs `body`, work the provider must finish before it can ask for the answer (uploading a
    /// video, waiting until the upstream has processed it, sampling frames), without the model's
    /// first-chunk and idle clocks running: an upload of a large video is not a silent model.
    /// The time still counts towards the model's total timeout, and such steps carry limits of their
    /// own (transfer timeouts by size, a maximum processing wait).
    public func preparing<T>(_ body: () async throws -> T) async throws -> T {
        guard let preparation else { return try await body() }
        preparation(true)
        defer { preparation(false) }
        return try await body()
    }
}
