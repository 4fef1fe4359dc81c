/// One event of an Analyze stream.
///
/// A call produces, in order: one ``Payload/start(_:)``; per model one ``Payload/modelStart(_:)``,
/// any number of ``Payload/textGeneration(_:)`` chunks and exactly one of ``Payload/modelEnd(_:)``
/// or ``Payload/error(_:)``; finally one ``Payload/complete(_:)``. Events of different models
/// interleave as they are generated. `seq` is contiguous from 1 within a call.
public struct AnalyzeEvent: Sendable, Hashable {
    public var seq: UInt64
    /// Unix time in microseconds when the server produced the event.
    public var timestampMicros: Int64
    public var payload: Payload

    public init(seq: UInt64, timestampMicros: Int64, payload: Payload) {
        self.seq = seq
        self.timestampMicros = timestampMicros
        self.payload = payload
    }

    /// The once-per-model and once-per-call cases are `indirect` (boxed): `ModelEnd` alone is 113
    /// bytes, and the enum is as large as its largest case, so every text chunk (the hot case,
    /// 32 bytes) was copied as 129 bytes through the emitter, the sinks and the client's iterator.
    public enum Payload: Sendable, Hashable {
        case start(StreamStart)
        case modelStart(ModelStart)
        case textGeneration(TextGeneration)
        indirect case modelEnd(ModelEnd)
        indirect case error(ModelError)
        indirect case complete(StreamComplete)
    }

    /// The model the event belongs to, or nil for `start` and `complete`.
    public var model: String? {
        switch payload {
        case .start, .complete: return nil
        case .modelStart(let p): return p.model
        case .textGeneration(let p): return p.model
        case .modelEnd(let p): return p.model
        case .error(let p): return p.model
        }
    }

    /// The event type name used by the JSON/SSE contract (`start`, `model_start`, ...).
    public var eventType: String {
        switch payload {
        case .start: return "start"
        case .modelStart: return "model_start"
        case .textGeneration: return "text_generation"
        case .modelEnd: return "model_end"
        case .error: return "error"
        case .complete: return "complete"
        }
    }
}

public struct StreamStart: Sendable, Hashable {
    public var models: [String]
    /// True when the server chose the models because the request named none.
    public var recommended: Bool
    public var requestID: String

    public init(models: [String], recommended: Bool, requestID: String) {
        self.models = models
        self.recommended = recommended
        self.requestID = requestID
    }
}

public struct ModelStart: Sendable, Hashable {
    public var model: String
    /// The provider kind serving the model, e.g. `demo`, `openai`, `gemini`, `twelvelabs`.
    public var provider: String

    public init(model: String, provider: String) {
        self.model = model
        self.provider = provider
    }
}

public struct TextGeneration: Sendable, Hashable {
    public var model: String
    public var text: String

    public init(model: String, text: String) {
        self.model = model
        self.text = text
    }
}

public struct ModelEnd: Sendable, Hashable {
    public var model: String
    public var stats: ModelStats

    public init(model: String, stats: ModelStats) {
        self.model = model
        self.stats = stats
    }
}

/// A model that failed; the other models of the call carry on.
public struct ModelError: Sendable, Hashable {
    public var model: String
    public var code: ChorusError.Code
    public var message: String
    public var retryable: Bool
    public var retryAfter: Duration?

    public init(model: String, code: ChorusError.Code, message: String, retryable: Bool, retryAfter: Duration? = nil) {
        self.model = model
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retryAfter = retryAfter
    }

    public init(model: String, error: ChorusError) {
        self.init(model: model, code: error.code, message: error.message, retryable: error.retryable, retryAfter: error.retryAfter)
    }
}

public struct StreamComplete: Sendable, Hashable {
    public var succeeded: [String]
    public var failed: [String]
    public var duration: Duration
    public var requestID: String

    public init(succeeded: [String], failed: [String], duration: Duration, requestID: String) {
        self.succeeded = succeeded
        self.failed = failed
        self.duration = duration
        self.requestID = requestID
    }
}
