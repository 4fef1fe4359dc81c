/// What one model did in one call.
public struct ModelStats: Sendable, Hashable {
    public var timeToFirstToken: Duration
    public var duration: Duration
    public var characters: Int
    public var words: Int
    public var averageWordLength: Double
    /// Output tokens reported by the provider, nil when it reported none.
    public var outputTokens: Int?
    /// Output tokens (or words, when tokens are unknown) per second of generation after the first token.
    public var tokensPerSecond: Double
    public var finishReason: String
    /// True when the answer came from a cache rather than a fresh generation.
    public var cached: Bool

    public init(
        timeToFirstToken: Duration = .zero,
        duration: Duration = .zero,
        characters: Int = 0,
        words: Int = 0,
        averageWordLength: Double = 0,
        outputTokens: Int? = nil,
        tokensPerSecond: Double = 0,
        finishReason: String = "",
        cached: Bool = false
    ) {
        self.timeToFirstToken = timeToFirstToken
        self.duration = duration
        self.characters = characters
        self.words = words
        self.averageWordLength = averageWordLength
        self.outputTokens = outputTokens
        self.tokensPerSecond = tokensPerSecond
        self.finishReason = finishReason
        self.cached = cached
    }
}

/// Counts characters and words of a streamed answer incrementally, chunk by chunk.
///
/// Words are maximal runs of non-whitespace characters; a word split across two chunks counts once.
public struct TextStatsAccumulator: Sendable {
    public private(set) var characters = 0
    public private(set) var words = 0
    public private(set) var wordCharacters = 0
    private var insideWord = false

    public init() {}

    public mutating func add(_ text: String) {
        // Every chunk of every model passes through here, so ASCII text (nearly all of it) is
        // counted on its UTF-8 bytes; Character iteration costs a grapheme breaker and a Unicode
        // property lookup per character. Both paths count the same: one character per grapheme
        // ("\r\n" is one), whitespace as `Character.isWhitespace` defines it.
        var text = text
        let isASCII = text.withUTF8 { bytes in bytes.allSatisfy { $0 < 0x80 } }
        guard isASCII else {
            for character in text { count(isWhitespace: character.isWhitespace) }
            return
        }
        text.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == 0x0D, index < bytes.count, bytes[index] == 0x0A { index += 1 }
                count(isWhitespace: byte == 0x20 || (byte >= 0x09 && byte <= 0x0D))
            }
        }
    }

    private mutating func count(isWhitespace: Bool) {
        characters += 1
        if isWhitespace {
            insideWord = false
        } else {
            wordCharacters += 1
            if !insideWord {
                words += 1
                insideWord = true
            }
        }
    }

    public var averageWordLength: Double {
        words == 0 ? 0 : Double(wordCharacters) / Double(words)
    }
}

extension Duration {
    /// Whole microseconds, saturating at zero for negative values.
    public var microseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        return UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
    }

    /// Fractional seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
