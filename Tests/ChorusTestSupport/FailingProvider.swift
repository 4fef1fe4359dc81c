public import ChorusCore

/// A provider that writes some chunks and then throws a given error.
///
/// ```swift
/// let provider = FailingProvider(error: ChorusError(.unavailable, "upstream 503"), after: ["partial"])
/// ```
public struct FailingProvider: ModelProvider {
    public let kind: String
    public let error: any Error
    /// Chunks written before failing.
    public let chunks: [String]
    /// Delay before failing (after the chunks).
    public let delay: Duration

    public init(kind: String = "failing", error: any Error, after chunks: [String] = [], delay: Duration = .zero) {
        self.kind = kind
        self.error = error
        self.chunks = chunks
        self.delay = delay
    }

    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        for chunk in chunks { try await output.write(chunk) }
        if delay > .zero { try await Task.sleep(for: delay) }
        throw error
    }
}
