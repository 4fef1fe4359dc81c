public import ChorusCore
import Synchronization

/// A provider that writes a fixed list of chunks, each after its own delay, then completes.
/// It may first spend a while preparing (`ModelOutputWriter.preparing`), like an upload.
///
/// It records every prompt it receives, so tests can check what the orchestrator passed on.
///
/// ```swift
/// let provider = ScriptedProvider(chunks: ["Hel", "lo wor", "ld"], interval: .milliseconds(10))
/// ```
public final class ScriptedProvider: ModelProvider {
    /// One chunk and the delay before it.
    public struct Step: Sendable, Hashable {
        public var delay: Duration
        public var text: String

        public init(after delay: Duration = .zero, _ text: String) {
            self.delay = delay
            self.text = text
        }
    }

    public let kind: String
    public let steps: [Step]
    /// Delay between the last chunk and returning.
    public let finishDelay: Duration
    public let completion: ModelCompletion
    /// How long it prepares (inside `ModelOutputWriter.preparing`) before its first step.
    public let preparation: Duration
    private let received = Mutex<[ModelPrompt]>([])

    public init(
        kind: String = "scripted", preparation: Duration = .zero, steps: [Step], finishDelay: Duration = .zero,
        completion: ModelCompletion = ModelCompletion(finishReason: "stop")
    ) {
        self.kind = kind
        self.preparation = preparation
        self.steps = steps
        self.finishDelay = finishDelay
        self.completion = completion
    }

    /// `chunks` with `firstChunkDelay` before the first and `interval` before each later one.
    public convenience init(
        kind: String = "scripted", preparation: Duration = .zero, chunks: [String], firstChunkDelay: Duration = .zero,
        interval: Duration = .zero, finishDelay: Duration = .zero,
        completion: ModelCompletion = ModelCompletion(finishReason: "stop")
    ) {
        let steps = chunks.enumerated().map { Step(after: $0.offset == 0 ? firstChunkDelay : interval, $0.element) }
        self.init(kind: kind, preparation: preparation, steps: steps, finishDelay: finishDelay, completion: completion)
    }

    /// The prompts received so far, in call order.
    public var prompts: [ModelPrompt] {
        received.withLock { $0 }
    }

    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        received.withLock { $0.append(prompt) }
        if preparation > .zero {
            try await output.preparing { try await Task.sleep(for: preparation) }
        }
        for step in steps {
            if step.delay > .zero { try await Task.sleep(for: step.delay) }
            try await output.write(step.text)
        }
        if finishDelay > .zero { try await Task.sleep(for: finishDelay) }
        return completion
    }
}
