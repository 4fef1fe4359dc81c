extension RegistryConfiguration {
    /// A ``DemoProfile`` in file form; omitted fields keep ``DemoProfile``'s defaults.
    public struct Demo: Codable, Sendable, Hashable {
        public var firstChunkDelayMs: Int?
        public var chunkIntervalMs: Int?
        /// Answer length: a number of words, or `[min, max]`.
        public var answerWords: WordRange?
        /// Chunk size: a number of words, or `[min, max]`.
        public var wordsPerChunk: WordRange?
        public var fail: Fail?
        public var stallAfterChunks: Int?
        public var cutoffAfterChunks: Int?

        public init(
            firstChunkDelayMs: Int? = nil, chunkIntervalMs: Int? = nil, answerWords: WordRange? = nil,
            wordsPerChunk: WordRange? = nil, fail: Fail? = nil, stallAfterChunks: Int? = nil,
            cutoffAfterChunks: Int? = nil
        ) {
            self.firstChunkDelayMs = firstChunkDelayMs
            self.chunkIntervalMs = chunkIntervalMs
            self.answerWords = answerWords
            self.wordsPerChunk = wordsPerChunk
            self.fail = fail
            self.stallAfterChunks = stallAfterChunks
            self.cutoffAfterChunks = cutoffAfterChunks
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case fail
            case firstChunkDelayMs = "first_chunk_delay_ms"
            case chunkIntervalMs = "chunk_interval_ms"
            case answerWords = "answer_words"
            case wordsPerChunk = "words_per_chunk"
            case stallAfterChunks = "stall_after_chunks"
            case cutoffAfterChunks = "cutoff_after_chunks"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            firstChunkDelayMs = try container.decodeIfPresent(Int.self, forKey: .firstChunkDelayMs)
            chunkIntervalMs = try container.decodeIfPresent(Int.self, forKey: .chunkIntervalMs)
            answerWords = try container.decodeIfPresent(WordRange.self, forKey: .answerWords)
            wordsPerChunk = try container.decodeIfPresent(WordRange.self, forKey: .wordsPerChunk)
            fail = try container.decodeIfPresent(Fail.self, forKey: .fail)
            stallAfterChunks = try container.decodeIfPresent(Int.self, forKey: .stallAfterChunks)
            cutoffAfterChunks = try container.decodeIfPresent(Int.self, forKey: .cutoffAfterChunks)
        }
    }

    /// An injected demo failure: `{"after_chunks": 3, "code": "UNAVAILABLE", "message": "..."}`.
    public struct Fail: Codable, Sendable, Hashable {
        public var afterChunks: Int?
        /// A status code name such as `UNAVAILABLE` (default `INTERNAL`).
        public var code: String?
        public var message: String?

        public init(afterChunks: Int? = nil, code: String? = nil, message: String? = nil) {
            self.afterChunks = afterChunks
            self.code = code
            self.message = message
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case code, message
            case afterChunks = "after_chunks"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            afterChunks = try container.decodeIfPresent(Int.self, forKey: .afterChunks)
            code = try container.decodeIfPresent(String.self, forKey: .code)
            message = try container.decodeIfPresent(String.self, forKey: .message)
        }
    }

    /// `120` (exactly) or `[80, 160]` (inclusive range).
    public struct WordRange: Codable, Sendable, Hashable {
        public var min: Int
        public var max: Int

        public init(min: Int, max: Int) {
            self.min = min
            self.max = max
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let exact = try? container.decode(Int.self) {
                self.init(min: exact, max: exact)
                return
            }
            guard let pair = try? container.decode([Int].self), pair.count == 2 else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected a number of words or a [min, max] pair")
            }
            self.init(min: pair[0], max: pair[1])
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            if min == max { try container.encode(min) } else { try container.encode([min, max]) }
        }
    }
}
