/// The JSON file that defines a server's models (`chorusd --registry path.json`).
///
/// Every model names a `provider` kind and may carry a block named after that kind with the provider's
/// own settings (`"demo": {...}` today; `"openai": {...}` and others when real providers arrive, added
/// as another optional block here and another case in ``RegistryLoader``). Unknown fields are rejected
/// so a typo never silently falls back to a default.
///
/// ```json
/// {
///   "models": [
///     {
///       "name": "gemini",
///       "provider": "demo",
///       "upstream_model": "gemini-3.5-flash",
///       "description": "Demo stand-in for Gemini",
///       "timeouts": { "first_chunk_ms": 10000, "idle_ms": 5000, "total_ms": 60000 },
///       "demo": { "first_chunk_delay_ms": 350, "chunk_interval_ms": 30, "answer_words": [110, 150], "words_per_chunk": [1, 2] }
///     }
///   ],
///   "recommendations": {
///     "rules": [ { "keywords": ["video", "scene"], "models": ["gemini"] } ],
///     "fallback": ["gemini"]
///   }
/// }
/// ```
///
/// When `recommendations` is omitted, the built-in table (``ChorusCore/RecommendationTable/default``)
/// is used if every model it names is defined, otherwise every defined model is the fallback.
public struct RegistryConfiguration: Codable, Sendable, Hashable {
    public var models: [Model]
    public var recommendations: Recommendations?

    public init(models: [Model], recommendations: Recommendations? = nil) {
        self.models = models
        self.recommendations = recommendations
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case models, recommendations
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        models = try container.decode([Model].self, forKey: .models)
        recommendations = try container.decodeIfPresent(Recommendations.self, forKey: .recommendations)
    }

    /// One model of the registry.
    public struct Model: Codable, Sendable, Hashable {
        /// Registry name clients use, e.g. `gemini` (lowercase letters, digits, `-`, `_`, `.`).
        public var name: String
        /// Provider kind; only `demo` is supported so far.
        public var provider: String
        /// The provider's own model id, e.g. `gpt-4o`.
        public var upstreamModel: String?
        public var description: String?
        /// False lists the model but refuses to run it (default true).
        public var available: Bool?
        public var timeouts: Timeouts?
        /// Settings for `provider: "demo"`.
        public var demo: Demo?

        public init(
            name: String, provider: String, upstreamModel: String? = nil, description: String? = nil,
            available: Bool? = nil, timeouts: Timeouts? = nil, demo: Demo? = nil
        ) {
            self.name = name
            self.provider = provider
            self.upstreamModel = upstreamModel
            self.description = description
            self.available = available
            self.timeouts = timeouts
            self.demo = demo
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, provider, description, available, timeouts, demo
            case upstreamModel = "upstream_model"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            provider = try container.decode(String.self, forKey: .provider)
            upstreamModel = try container.decodeIfPresent(String.self, forKey: .upstreamModel)
            description = try container.decodeIfPresent(String.self, forKey: .description)
            available = try container.decodeIfPresent(Bool.self, forKey: .available)
            timeouts = try container.decodeIfPresent(Timeouts.self, forKey: .timeouts)
            demo = try container.decodeIfPresent(Demo.self, forKey: .demo)
        }
    }

    /// The model's three clocks, in milliseconds; omitted ones keep ``ChorusCore/ModelSettings``'s defaults.
    public struct Timeouts: Codable, Sendable, Hashable {
        public var firstChunkMs: Int?
        public var idleMs: Int?
        public var totalMs: Int?

        public init(firstChunkMs: Int? = nil, idleMs: Int? = nil, totalMs: Int? = nil) {
            self.firstChunkMs = firstChunkMs
            self.idleMs = idleMs
            self.totalMs = totalMs
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case firstChunkMs = "first_chunk_ms"
            case idleMs = "idle_ms"
            case totalMs = "total_ms"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            firstChunkMs = try container.decodeIfPresent(Int.self, forKey: .firstChunkMs)
            idleMs = try container.decodeIfPresent(Int.self, forKey: .idleMs)
            totalMs = try container.decodeIfPresent(Int.self, forKey: .totalMs)
        }
    }

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

    /// The table used when a request names no models.
    public struct Recommendations: Codable, Sendable, Hashable {
        public var rules: [Rule]?
        public var fallback: [String]

        public init(rules: [Rule]? = nil, fallback: [String]) {
            self.rules = rules
            self.fallback = fallback
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case rules, fallback
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            rules = try container.decodeIfPresent([Rule].self, forKey: .rules)
            fallback = try container.decode([String].self, forKey: .fallback)
        }
    }

    /// Queries containing any of `keywords` (whole words, case-insensitive) get `models`.
    public struct Rule: Codable, Sendable, Hashable {
        public var keywords: [String]
        public var models: [String]

        public init(keywords: [String], models: [String]) {
            self.keywords = keywords
            self.models = models
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case keywords, models
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            keywords = try container.decode([String].self, forKey: .keywords)
            models = try container.decode([String].self, forKey: .models)
        }
    }
}

/// A coding key for any field name, used to list the keys a JSON object really has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

extension Decoder {
    /// Throws `DecodingError.dataCorrupted` at the first field `Keys` does not know.
    func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws {
        let known = Keys.allCases.map(\.stringValue)
        let container = try container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue })
        where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: codingPath + [key],
                    debugDescription:
                        "unknown field '\(key.stringValue)'; known fields: \(known.sorted().joined(separator: ", "))"
                )
            )
        }
    }
}
