import ChorusCore

/// Builds a well-formed event stream with contiguous `seq` numbers and increasing timestamps.
struct EventScript {
    private(set) var events: [AnalyzeEvent] = []
    private var timestamp: Int64 = 1_717_245_296_000_000

    private mutating func add(_ payload: AnalyzeEvent.Payload) {
        events.append(AnalyzeEvent(seq: UInt64(events.count + 1), timestampMicros: timestamp, payload: payload))
        timestamp += 10_000
    }

    mutating func start(_ models: [String], requestID: String = "req-1", recommended: Bool = false) {
        add(.start(StreamStart(models: models, recommended: recommended, requestID: requestID)))
    }

    mutating func modelStart(_ model: String, provider: String = "demo") {
        add(.modelStart(ModelStart(model: model, provider: provider)))
    }

    mutating func text(_ model: String, _ text: String) {
        add(.textGeneration(TextGeneration(model: model, text: text)))
    }

    mutating func end(_ model: String, _ stats: ModelStats) {
        add(.modelEnd(ModelEnd(model: model, stats: stats)))
    }

    mutating func error(_ model: String, _ code: ChorusError.Code, _ message: String, retryable: Bool = false) {
        add(.error(ModelError(model: model, code: code, message: message, retryable: retryable)))
    }

    mutating func complete(
        succeeded: [String], failed: [String], duration: Duration = .milliseconds(2_300), requestID: String = "req-1"
    ) {
        add(.complete(StreamComplete(succeeded: succeeded, failed: failed, duration: duration, requestID: requestID)))
    }

    /// gemini answers in two lines (interleaved with pegasus), pegasus fails after a few words.
    static var geminiSucceedsPegasusFails: EventScript {
        var script = EventScript()
        script.start(["gemini", "pegasus"])
        script.modelStart("gemini")
        script.modelStart("pegasus")
        script.text("gemini", "The video ")
        script.text("pegasus", "In the clip")
        script.text("gemini", "shows a red car.\nSecond")
        script.text("gemini", " line")
        script.end("gemini", geminiStats)
        script.error("pegasus", .unavailable, "upstream is down", retryable: true)
        script.complete(succeeded: ["gemini"], failed: ["pegasus"])
        return script
    }

    static let geminiStats = ModelStats(
        timeToFirstToken: .milliseconds(120),
        duration: .milliseconds(1_204),
        characters: 37,
        words: 8,
        averageWordLength: 3.625,
        outputTokens: 10,
        tokensPerSecond: 35.04,
        finishReason: "stop"
    )
}
