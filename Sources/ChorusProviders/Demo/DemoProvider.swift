public import ChorusCore

/// An offline stand-in for a real model: streams a plausible, deterministic answer about a video with
/// a configurable latency profile, and misbehaves on request for tests.
///
/// The answer depends only on the model name and the query (directives removed): a stable FNV-1a hash
/// of both seeds the generator, so the same question gets the same answer in every process. Delays
/// wait on the call's ``ChorusCore/Ticker`` (millisecond ticks, ``ChorusCore/CallTimers/withPacer(_:)``);
/// cancellation stops the provider at once.
///
/// Misbehaviour comes from the ``DemoProfile`` (``DemoProfile/failure``, ``DemoProfile/stallAfterChunks``,
/// ``DemoProfile/cutoffAfterChunks``) or from directives in the query, which win over the profile; see
/// ``DemoDirectives`` for the syntax (`[demo:fail=gemini]`, `[demo:stall=pegasus]`, `[demo:cutoff=gpt4o]`,
/// `[demo:fast]`, `[demo:words=N]`).
///
/// ```swift
/// let provider = DemoProvider(profile: DemoProfile(firstChunkDelay: .milliseconds(350)), observer: observer)
/// let entry = ModelRegistry.Entry(name: "gemini", provider: provider, settings: ModelSettings(demo: true))
/// ```
public struct DemoProvider: ModelProvider {
    /// The message of a cut-off answer (``DemoProfile/cutoffAfterChunks`` or `[demo:cutoff=...]`).
    public static let cutoffMessage = "connection to upstream lost mid-answer"

    public var kind: String { "demo" }
    public var profile: DemoProfile
    public var observer: DemoObserver?

    public init(profile: DemoProfile = DemoProfile(), observer: DemoObserver? = nil) {
        self.profile = profile
        self.observer = observer
    }

    /// Streams the answer for `prompt`.
    ///
    /// Honours `maxOutputTokens` by stopping early with finish reason `length`; ignores `temperature`.
    /// Reports output tokens as words × 1.3, rounded.
    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        observer?.record(.started)
        do {
            let completion = try await stream(DemoScript(prompt: prompt, profile: profile), to: output)
            observer?.record(.completed)
            return completion
        } catch {
            observer?.record(error is CancellationError || Task.isCancelled ? .cancelled : .failed)
            throw error
        }
    }

    private func stream(_ script: DemoScript, to output: ModelOutputWriter) async throws -> ModelCompletion {
        // One timer per millisecond tick for every demo stream of the call's event loop (or of the
        // process), not one Task.sleep each, and one cancellation handler per stream: see Ticker.
        try await CallTimers.withPacer { pacer in
            try await pacer.sleep(until: .now + script.firstChunkDelay)
            for index in 0...script.chunks.count {
                // Switches are checked before writing chunk `index`, i.e. after `index` chunks were written.
                if let failure = script.failure, failure.afterChunks == index { throw failure.error }
                if script.cutoffAfterChunks == index { throw ChorusError(.unavailable, DemoProvider.cutoffMessage) }
                if script.stallAfterChunks == index {
                    // Hang like a stuck upstream connection; only cancellation gets us out.
                    while true { try await Task.sleep(for: .seconds(3_600)) }
                }
                guard index < script.chunks.count else { break }
                if index > 0 { try await pacer.sleep(until: .now + script.chunkInterval) }
                try await output.write(script.chunks[index])
            }
        }
        return ModelCompletion(
            finishReason: script.truncated ? "length" : "stop",
            outputTokens: DemoScript.tokens(forWords: script.wordCount)
        )
    }
}

/// Everything one `generate` call will do, decided up front from the prompt, profile and directives.
struct DemoScript: Sendable {
    var chunks: [String]
    var wordCount: Int
    /// True when `maxOutputTokens` cut the answer short.
    var truncated: Bool
    var firstChunkDelay: Duration
    var chunkInterval: Duration
    var failure: DemoProfile.Failure?
    var stallAfterChunks: Int?
    var cutoffAfterChunks: Int?

    /// Output tokens reported for `words` words: words × 1.3, rounded half up.
    static func tokens(forWords words: Int) -> Int {
        (words * 13 + 5) / 10
    }

    init(prompt: ModelPrompt, profile: DemoProfile) throws(ChorusError) {
        let directives = try DemoDirectives(parsing: prompt.query)
        var rng = SeededGenerator(hashing: prompt.model, directives.strippedQuery)

        var wordCount = directives.answerWords ?? rng.value(in: profile.answerWords)
        var words = DemoText.answer(
            wordCount: wordCount, topic: DemoText.topic(of: directives.strippedQuery), using: &rng)
        truncated = false
        if let maxTokens = prompt.maxOutputTokens {
            // The demo "tokenizer" spends 1.3 tokens per word; keep whole words within the budget.
            // Integer arithmetic, because 13 / 1.3 is 9.999… in floating point.
            let maxWords = max(1, maxTokens * 10 / 13)
            if maxWords < words.count {
                words = Array(words.prefix(maxWords))
                truncated = true
            }
        }
        wordCount = words.count
        self.wordCount = wordCount
        chunks = DemoText.chunks(of: words, wordsPerChunk: profile.wordsPerChunk, using: &rng)

        firstChunkDelay = directives.fast ? .zero : profile.firstChunkDelay
        chunkInterval = directives.fast ? .zero : profile.chunkInterval

        // Directive positions default to before any text (fail) or halfway (stall, cut-off), and are
        // clamped to the answer so a switch always triggers.
        let count = chunks.count
        let halfway = count >= 2 ? count / 2 : 0
        func position(_ trigger: DemoDirectives.Trigger, default fallback: Int) -> Int {
            min(trigger.afterChunks ?? fallback, count)
        }
        failure = profile.failure
        if let trigger = directives.trigger(directives.failures, for: prompt.model) {
            let code = trigger.code ?? .internal
            failure = DemoProfile.Failure(
                afterChunks: position(trigger, default: 0),
                error: ChorusError(code, "\(prompt.model) failed as instructed by a [demo:fail] directive")
            )
        }
        stallAfterChunks = profile.stallAfterChunks
        if let trigger = directives.trigger(directives.stalls, for: prompt.model) {
            stallAfterChunks = position(trigger, default: halfway)
        }
        cutoffAfterChunks = profile.cutoffAfterChunks
        if let trigger = directives.trigger(directives.cutoffs, for: prompt.model) {
            cutoffAfterChunks = position(trigger, default: halfway)
        }
        if let failure, failure.afterChunks > count { self.failure?.afterChunks = count }
        if let stall = stallAfterChunks, stall > count { stallAfterChunks = count }
        if let cutoff = cutoffAfterChunks, cutoff > count { cutoffAfterChunks = count }
    }
}
