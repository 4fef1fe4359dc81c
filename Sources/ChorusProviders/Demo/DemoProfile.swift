public import ChorusCore

/// How one demo model behaves: how fast it answers, how long its answers are and, for tests, how it
/// misbehaves.
///
/// A full answer takes about `firstChunkDelay + (chunks - 1) × chunkInterval`, where
/// `chunks ≈ words / average(wordsPerChunk)`.
///
/// ```swift
/// // ~0.35 s to the first chunk, then ~33 chunks/s of 1–2 words, 110–150 words per answer.
/// let profile = DemoProfile(firstChunkDelay: .milliseconds(350), chunkInterval: .milliseconds(30),
///                           answerWords: 110...150, wordsPerChunk: 1...2)
/// ```
public struct DemoProfile: Sendable, Hashable {
    /// Delay before the first chunk (time to first token).
    public var firstChunkDelay: Duration
    /// Delay between two chunks (the inverse of the chunk rate).
    public var chunkInterval: Duration
    /// Answer length in words; the exact length is picked from the range per (model, query).
    public var answerWords: ClosedRange<Int>
    /// Words per chunk; each chunk's size is picked from the range.
    public var wordsPerChunk: ClosedRange<Int>
    /// Fail after writing some chunks.
    public var failure: Failure?
    /// Stop producing after this many chunks and hang until cancelled.
    public var stallAfterChunks: Int?
    /// After this many chunks, throw UNAVAILABLE "connection to upstream lost mid-answer".
    public var cutoffAfterChunks: Int?

    /// A failure injected after `afterChunks` chunks have been written (0 fails before any text).
    public struct Failure: Sendable, Hashable {
        public var afterChunks: Int
        public var error: ChorusError

        public init(afterChunks: Int = 0, error: ChorusError) {
            self.afterChunks = afterChunks
            self.error = error
        }
    }

    public init(
        firstChunkDelay: Duration = .milliseconds(500),
        chunkInterval: Duration = .milliseconds(30),
        answerWords: ClosedRange<Int> = 80...160,
        wordsPerChunk: ClosedRange<Int> = 1...2,
        failure: Failure? = nil,
        stallAfterChunks: Int? = nil,
        cutoffAfterChunks: Int? = nil
    ) {
        precondition(answerWords.lowerBound >= 1, "answers need at least one word")
        precondition(wordsPerChunk.lowerBound >= 1, "chunks need at least one word")
        self.firstChunkDelay = firstChunkDelay
        self.chunkInterval = chunkInterval
        self.answerWords = answerWords
        self.wordsPerChunk = wordsPerChunk
        self.failure = failure
        self.stallAfterChunks = stallAfterChunks
        self.cutoffAfterChunks = cutoffAfterChunks
    }

    /// No delays and short answers: for tests that care about events, not timing.
    public static let instant = DemoProfile(
        firstChunkDelay: .zero, chunkInterval: .zero, answerWords: 20...30, wordsPerChunk: 1...3
    )
}
