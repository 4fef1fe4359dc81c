/// The JSON file that defines a server's models (`chorusd --registry path.json`).
///
/// Every model names a `provider` kind (`demo`, `openai`, `openai-compatible`, `gemini`,
/// `twelvelabs`). Real providers take `base_url`, `api_key_env` / `api_key_file`, `retry`,
/// `max_concurrent`, `timeouts.connect_ms`, and per kind `video` (OpenAI frame sampling) or `files`
/// (uploads: Gemini's Files API, TwelveLabs assets and when those are deleted); demo models take a `demo` block. Unknown fields are rejected so a typo never
/// silently falls back to a default, and a field that does not apply to the model's provider is an error.
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
        /// Provider kind: `demo`, `openai`, `openai-compatible`, `gemini` or `twelvelabs`.
        public var provider: String
        /// The provider's own model id, e.g. `gpt-4o`.
        public var upstreamModel: String?
        public var description: String?
        /// False lists the model but refuses to run it (default true).
        public var available: Bool?
        public var timeouts: Timeouts?
        /// Settings for `provider: "demo"`.
        public var demo: Demo?
        /// The API base URL including its version path; default from `OPENAI_BASE_URL`,
        /// `GEMINI_BASE_URL` or `TWELVELABS_BASE_URL`, else the provider's public endpoint.
        public var baseURL: String?
        /// The environment variable holding the key (default `OPENAI_API_KEY`, `GEMINI_API_KEY`,
        /// `TWELVELABS_API_KEY`; none for `openai-compatible`).
        public var apiKeyEnv: String?
        /// A file holding the key (a mounted secret); wins over `api_key_env`.
        public var apiKeyFile: String?
        public var retry: Retry?
        /// Most upstream requests of this model in flight at once (default unlimited).
        public var maxConcurrent: Int?
        /// Frame sampling for `openai` / `openai-compatible`.
        public var video: Video?
        /// Files API polling for `gemini`.
        public var files: Files?

        public init(
            name: String, provider: String, upstreamModel: String? = nil, description: String? = nil,
            available: Bool? = nil, timeouts: Timeouts? = nil, demo: Demo? = nil, baseURL: String? = nil,
            apiKeyEnv: String? = nil, apiKeyFile: String? = nil, retry: Retry? = nil, maxConcurrent: Int? = nil,
            video: Video? = nil, files: Files? = nil
        ) {
            self.name = name
            self.provider = provider
            self.upstreamModel = upstreamModel
            self.description = description
            self.available = available
            self.timeouts = timeouts
            self.demo = demo
            self.baseURL = baseURL
            self.apiKeyEnv = apiKeyEnv
            self.apiKeyFile = apiKeyFile
            self.retry = retry
            self.maxConcurrent = maxConcurrent
            self.video = video
            self.files = files
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, provider, description, available, timeouts, demo, retry, video, files
            case upstreamModel = "upstream_model"
            case baseURL = "base_url"
            case apiKeyEnv = "api_key_env"
            case apiKeyFile = "api_key_file"
            case maxConcurrent = "max_concurrent"
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
            baseURL = try container.decodeIfPresent(String.self, forKey: .baseURL)
            apiKeyEnv = try container.decodeIfPresent(String.self, forKey: .apiKeyEnv)
            apiKeyFile = try container.decodeIfPresent(String.self, forKey: .apiKeyFile)
            retry = try container.decodeIfPresent(Retry.self, forKey: .retry)
            maxConcurrent = try container.decodeIfPresent(Int.self, forKey: .maxConcurrent)
            video = try container.decodeIfPresent(Video.self, forKey: .video)
            files = try container.decodeIfPresent(Files.self, forKey: .files)
        }
    }

    /// The model's three clocks, in milliseconds; omitted ones keep ``ChorusCore/ModelSettings``'s defaults.
    public struct Timeouts: Codable, Sendable, Hashable {
        public var firstChunkMs: Int?
        public var idleMs: Int?
        public var totalMs: Int?
        /// TCP + TLS connect time allowed for upstream requests (real providers only).
        public var connectMs: Int?

        public init(firstChunkMs: Int? = nil, idleMs: Int? = nil, totalMs: Int? = nil, connectMs: Int? = nil) {
            self.firstChunkMs = firstChunkMs
            self.idleMs = idleMs
            self.totalMs = totalMs
            self.connectMs = connectMs
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case firstChunkMs = "first_chunk_ms"
            case idleMs = "idle_ms"
            case totalMs = "total_ms"
            case connectMs = "connect_ms"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            firstChunkMs = try container.decodeIfPresent(Int.self, forKey: .firstChunkMs)
            idleMs = try container.decodeIfPresent(Int.self, forKey: .idleMs)
            totalMs = try container.decodeIfPresent(Int.self, forKey: .totalMs)
            connectMs = try container.decodeIfPresent(Int.self, forKey: .connectMs)
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
