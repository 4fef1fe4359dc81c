public import ChorusCore
import Synchronization

/// An offline stand-in for a real model: streams a plausible, deterministic answer about a video with
/// a configurable latency profile, and misbehaves on request for tests.
///
/// The answer depends only on the model name and the query (directives removed): a stable FNV-1a hash
/// of both seeds the generator, so the same question gets the same answer in every process. Delays
/// wait on the call's ``ChorusCore/Ticker`` (millisecond ticks, ``ChorusCore/CallTimers/withPacer(_:)``),
/// and paced chunks are written from the ticker's callback when the writer allows it
/// (``ChorusCore/Ticker/Pacer/drive(every:_:)``, ``ChorusCore/ModelOutputWriter/writeWithoutWaiting(_:)``),
/// so thousands of streams do not each resume a task per chunk; cancellation stops the provider at once.
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
            var index = 0
            while true {
                // Switches are checked before writing chunk `index`, i.e. after `index` chunks were written.
                if let failure = script.failure, failure.afterChunks == index { throw failure.error }
                if script.cutoffAfterChunks == index { throw ChorusError(.unavailable, DemoProvider.cutoffMessage) }
                if script.stallAfterChunks == index {
                    // Hang like a stuck upstream connection; only cancellation gets us out.
                    while true { try await Task.sleep(for: .seconds(3_600)) }
                }
                guard index < script.chunks.count else { break }
                if index > 0 {
                    if output.canWriteWithoutWaiting, script.chunkInterval > .zero {
                        index = try await paced(script, from: index, pacer: pacer, output: output)
                        continue
                    }
                    try await pacer.sleep(until: .now + script.chunkInterval)
                }
                try await output.write(script.chunks[index])
                index += 1
            }
        }
        return ModelCompletion(
            finishReason: script.truncated ? "length" : "stop",
            outputTokens: DemoScript.tokens(forWords: script.wordCount)
        )
    }

    /// Writes chunks from `index` on, one per chunk interval, from the ticker's timer (no task
    /// resume per chunk: at thousands of streams that resume was a fifth of the server's CPU),
    /// until the next switch, the end of the answer, or a consumer that is behind. Returns the index
    /// of the next chunk to write, after waiting for room if the consumer was behind.
    private func paced(_ script: DemoScript, from index: Int, pacer: Ticker.Pacer, output: ModelOutputWriter) async throws -> Int {
        // Decided here, not per chunk: a step touches only the cursor and the chunks (at thousands
        // of streams, each step's memory is cold, and every extra line read is a cache miss).
        let end = script.plainRun(from: index)
        let chunks = script.chunks
        let cursor = PacedCursor(next: index)
        try await pacer.drive(every: script.chunkInterval) {
            try cursor.state.withLock { cursor in
                let written = try output.writeWithoutWaiting(chunks[cursor.next])
                cursor.next += 1
                cursor.mustWait = written == .mustWait
                return !cursor.mustWait && cursor.next < end
            }
        }
        let (next, mustWait) = cursor.state.withLock { ($0.next, $0.mustWait) }
        if mustWait { try await output.waitForRoom() }
        return next
    }
}

/// Where a paced run of chunks got to; written by the ticker's callbacks, read by the task after.
private final class PacedCursor: Sendable {
    let state: Mutex<(next: Int, mustWait: Bool)>

    init(next: Int) {
        state = Mutex((next, false))
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

    /// The end of the run of chunks from `index` (which must be writable as is) that no switch
    /// interrupts: the first later index where a switch triggers, or the chunk count.
    func plainRun(from index: Int) -> Int {
        [failure?.afterChunks, cutoffAfterChunks, stallAfterChunks].reduce(chunks.count) { end, trigger in
            guard let trigger, trigger > index else { return end }
            return min(end, trigger)
        }
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
