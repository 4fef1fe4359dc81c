import ChorusCore

/// A request that passed validation, with its models resolved against the registry.
struct ValidatedRequest: Sendable {
    var query: String
    /// Model names in request order (or recommendation order).
    var models: [String]
    /// Registry entries matching ``models`` one to one.
    var entries: [ModelRegistry.Entry]
    /// True when the request named no models and the recommendation table chose them.
    var recommended: Bool
    var requestID: String
}

/// Checks an ``AnalyzeRequest`` before any event is produced.
///
/// Every message names the offending field and the limit, so a client can fix its request without
/// reading server logs.
struct RequestValidator {
    let registry: ModelRegistry
    let limits: ServiceLimits
    /// The media root policy; nil means the server accepts no `video_path`.
    var videoPaths: (any VideoPathValidator)? = nil

    func validate(_ request: AnalyzeRequest) throws(ChorusError) -> ValidatedRequest {
        let query = request.query
        if query.allSatisfy(\.isWhitespace) {
            throw ChorusError(.invalidArgument, "query must not be empty")
        }
        let queryLength = query.count
        if queryLength > limits.maxQueryLength {
            throw ChorusError(
                .invalidArgument, "query is \(queryLength) characters; the maximum is \(limits.maxQueryLength)")
        }

        let requestID: String
        if let given = request.requestID, !given.isEmpty {
            try checkRequestID(given)
            requestID = given
        } else {
            requestID = RequestValidator.makeRequestID()
        }

        var models = request.models
        let recommended = models.isEmpty
        if recommended {
            // The registry checked at construction that the table names only known models.
            models = Array(registry.recommendations.recommend(for: query).prefix(limits.maxModelsPerCall))
        } else if models.count > limits.maxModelsPerCall {
            throw ChorusError(
                .invalidArgument,
                "models lists \(models.count) entries; the maximum per call is \(limits.maxModelsPerCall)")
        }

        var entries: [ModelRegistry.Entry] = []
        var seen = Set<String>()
        for name in models {
            guard let entry = registry[name] else {
                throw ChorusError(
                    .invalidArgument, "unknown model '\(name)'; known: \(registry.names.joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else {
                throw ChorusError(.invalidArgument, "duplicate model '\(name)' in models")
            }
            entries.append(entry)
        }

        if let timeout = request.options.modelTimeout, timeout <= .zero {
            throw ChorusError(.invalidArgument, "options.model_timeout must be positive")
        }
        if let maxTokens = request.options.maxOutputTokens, maxTokens <= 0 {
            throw ChorusError(.invalidArgument, "options.max_output_tokens must be positive, got \(maxTokens)")
        }

        if let path = request.video.videoPath {
            guard let videoPaths else {
                throw ChorusError(
                    .invalidArgument,
                    "video_path is not accepted: this server has no media root (start chorusd with --media-root DIR)")
            }
            do {
                _ = try videoPaths.validateVideoPath(path)
            } catch {
                throw ChorusError(from: error)
            }
        }

        return ValidatedRequest(
            query: query, models: models, entries: entries, recommended: recommended, requestID: requestID)
    }

    private func checkRequestID(_ id: String) throws(ChorusError) {
        let bytes = id.utf8.count
        if bytes > limits.maxRequestIDLength {
            throw ChorusError(
                .invalidArgument, "request_id is \(bytes) bytes; the maximum is \(limits.maxRequestIDLength)")
        }
        // Request ids end up in log lines and response metadata, so only printable ASCII is accepted.
        if let offset = id.unicodeScalars.firstIndex(where: { !RequestValidator.isPrintableASCII($0) }) {
            let position = id.unicodeScalars.distance(from: id.unicodeScalars.startIndex, to: offset)
            throw ChorusError(
                .invalidArgument,
                "request_id contains a non-printable character at position \(position); use printable ASCII only")
        }
    }

    static func isPrintableASCII(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= 0x20 && scalar.value < 0x7F
    }

    /// The client's request id when it is safe to put in a log line, otherwise nil.
    static func loggableRequestID(_ id: String?, limits: ServiceLimits) -> String? {
        guard let id, !id.isEmpty, id.utf8.count <= limits.maxRequestIDLength,
            id.unicodeScalars.allSatisfy(isPrintableASCII)
        else { return nil }
        return id
    }

    /// 16 random lowercase hex digits (64 bits), enough to tell calls apart in logs.
    static func makeRequestID() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
