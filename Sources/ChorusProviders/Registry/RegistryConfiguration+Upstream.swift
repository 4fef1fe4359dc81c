extension RegistryConfiguration {
    /// Retries of failed upstream requests (before any text was streamed):
    /// `{"max_attempts": 3, "initial_backoff_ms": 500, "max_backoff_ms": 8000, "max_retry_after_ms": 30000}`.
    public struct Retry: Codable, Sendable, Hashable {
        public var maxAttempts: Int?
        public var initialBackoffMs: Int?
        public var maxBackoffMs: Int?
        /// An upstream asking to wait longer than this is not retried.
        public var maxRetryAfterMs: Int?

        public init(maxAttempts: Int? = nil, initialBackoffMs: Int? = nil, maxBackoffMs: Int? = nil, maxRetryAfterMs: Int? = nil) {
            self.maxAttempts = maxAttempts
            self.initialBackoffMs = initialBackoffMs
            self.maxBackoffMs = maxBackoffMs
            self.maxRetryAfterMs = maxRetryAfterMs
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxAttempts = "max_attempts"
            case initialBackoffMs = "initial_backoff_ms"
            case maxBackoffMs = "max_backoff_ms"
            case maxRetryAfterMs = "max_retry_after_ms"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            maxAttempts = try container.decodeIfPresent(Int.self, forKey: .maxAttempts)
            initialBackoffMs = try container.decodeIfPresent(Int.self, forKey: .initialBackoffMs)
            maxBackoffMs = try container.decodeIfPresent(Int.self, forKey: .maxBackoffMs)
            maxRetryAfterMs = try container.decodeIfPresent(Int.self, forKey: .maxRetryAfterMs)
        }
    }

    /// How `openai` / `openai-compatible` models see a video: `{"frames": 8, "max_width": 512, "detail": "low"}`.
    public struct Video: Codable, Sendable, Hashable {
        public var frames: Int?
        public var maxWidth: Int?
        /// `low`, `high` or `auto`.
        public var detail: String?

        public init(frames: Int? = nil, maxWidth: Int? = nil, detail: String? = nil) {
            self.frames = frames
            self.maxWidth = maxWidth
            self.detail = detail
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case frames, detail
            case maxWidth = "max_width"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            frames = try container.decodeIfPresent(Int.self, forKey: .frames)
            maxWidth = try container.decodeIfPresent(Int.self, forKey: .maxWidth)
            detail = try container.decodeIfPresent(String.self, forKey: .detail)
        }
    }

    /// Polling of uploaded videos until the provider has processed them (Gemini's Files API,
    /// TwelveLabs assets), and when they are deleted:
    /// `{"poll_interval_ms": 2000, "max_processing_ms": 300000, "keep_unused_ms": 3600000, "delete_on_exit": true}`.
    public struct Files: Codable, Sendable, Hashable {
        public var pollIntervalMs: Int?
        public var maxProcessingMs: Int?
        /// Delete an upload unused for this long; 0 keeps it until the server stops. Default: one
        /// hour for TwelveLabs, none for Gemini (Google deletes files after 48 h).
        public var keepUnusedMs: Int?
        /// Delete the uploads still held when the server stops (default true).
        public var deleteOnExit: Bool?

        public init(pollIntervalMs: Int? = nil, maxProcessingMs: Int? = nil, keepUnusedMs: Int? = nil, deleteOnExit: Bool? = nil) {
            self.pollIntervalMs = pollIntervalMs
            self.maxProcessingMs = maxProcessingMs
            self.keepUnusedMs = keepUnusedMs
            self.deleteOnExit = deleteOnExit
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case pollIntervalMs = "poll_interval_ms"
            case maxProcessingMs = "max_processing_ms"
            case keepUnusedMs = "keep_unused_ms"
            case deleteOnExit = "delete_on_exit"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            pollIntervalMs = try container.decodeIfPresent(Int.self, forKey: .pollIntervalMs)
            maxProcessingMs = try container.decodeIfPresent(Int.self, forKey: .maxProcessingMs)
            keepUnusedMs = try container.decodeIfPresent(Int.self, forKey: .keepUnusedMs)
            deleteOnExit = try container.decodeIfPresent(Bool.self, forKey: .deleteOnExit)
        }
    }
}
