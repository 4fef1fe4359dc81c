/// One question about one video, to be answered by several models at once.
///
/// ```swift
/// let request = AnalyzeRequest(query: "What is happening in this video?", models: ["gemini", "pegasus"])
/// ```
public struct AnalyzeRequest: Sendable, Hashable {
    /// The question.
    public var query: String
    /// Registry names of the models to run; empty asks the server to recommend.
    public var models: [String]
    /// The video, as far as the client identified it.
    public var video: VideoReference
    /// A client-chosen request id; the server generates one when it is nil or empty.
    public var requestID: String?
    public var options: AnalyzeOptions

    public init(
        query: String,
        models: [String] = [],
        video: VideoReference = VideoReference(),
        requestID: String? = nil,
        options: AnalyzeOptions = AnalyzeOptions()
    ) {
        self.query = query
        self.models = models
        self.video = video
        self.requestID = requestID
        self.options = options
    }
}

/// Where the video lives: a TwelveLabs index/video pair, a file under the server's media root, or both.
public struct VideoReference: Sendable, Hashable {
    public var indexID: String?
    public var videoID: String?
    public var videoPath: String?

    public init(indexID: String? = nil, videoID: String? = nil, videoPath: String? = nil) {
        self.indexID = indexID.nonEmpty
        self.videoID = videoID.nonEmpty
        self.videoPath = videoPath.nonEmpty
    }

    /// True when the request names no video at all.
    public var isEmpty: Bool { indexID == nil && videoID == nil && videoPath == nil }
}

/// Per-request tuning. Every field is optional; nil keeps the registry's default.
public struct AnalyzeOptions: Sendable, Hashable {
    /// Overrides each model's total timeout.
    public var modelTimeout: Duration?
    public var maxOutputTokens: Int?
    public var temperature: Double?

    public init(modelTimeout: Duration? = nil, maxOutputTokens: Int? = nil, temperature: Double? = nil) {
        self.modelTimeout = modelTimeout
        self.maxOutputTokens = maxOutputTokens
        self.temperature = temperature
    }
}

extension Optional where Wrapped == String {
    /// nil for nil or "", otherwise the string.
    var nonEmpty: String? {
        switch self {
        case .some(let value) where !value.isEmpty: return value
        default: return nil
        }
    }
}
