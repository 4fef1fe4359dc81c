public import ChorusCore

/// What is known about a running call, folded from its events: the models, their status, their
/// text so far and their statistics. Renderers read it; it does no output itself.
///
/// ```swift
/// var progress = AnalyzeProgress()
/// for try await event in stream { progress.apply(event) }
/// print(progress.finishedCount, "of", progress.models.count, "models done")
/// ```
public struct AnalyzeProgress: Sendable {
    /// A model's state as shown to the user.
    public enum Status: String, Sendable, Hashable {
        /// No text yet: the model is queued or still working on its first token.
        case waiting
        /// Text is arriving.
        case active
        /// The model ended with `model_end`.
        case completed
        /// The model ended with an `error` event.
        case error
    }

    /// One model of the call.
    public struct Model: Sendable {
        /// The registry name, e.g. `gemini`.
        public var name: String
        /// Known once `model_start` arrived.
        public var provider: String?
        /// Where the model is; see ``Status``.
        public var status: Status = .waiting
        /// The answer so far, exactly as received.
        public var text = ""
        /// Live counts of ``text``; the final numbers come from ``stats``.
        public var textStats = TextStatsAccumulator()
        /// Set by `model_end`.
        public var stats: ModelStats?
        /// Set by an `error` event.
        public var error: ModelError?

        /// A model that has not started yet.
        public init(name: String) {
            self.name = name
        }

        /// True once the model has ended, either way.
        public var isFinished: Bool { status == .completed || status == .error }
    }

    /// The call's request id, known from `start` (or `complete`).
    public private(set) var requestID: String?
    /// True when the server picked the models.
    public private(set) var recommended = false
    /// Models in the order the `start` event listed them; models first seen later are appended.
    public private(set) var models: [Model] = []
    /// Set by the `complete` event.
    public private(set) var completion: StreamComplete?
    private var indexByName: [String: Int] = [:]

    /// An empty progress, before any event.
    public init() {}

    /// The state of model `name`, nil when the stream never mentioned it.
    public subscript(model name: String) -> Model? {
        indexByName[name].map { models[$0] }
    }

    /// Models that ended (completed or failed).
    public var finishedCount: Int { models.count(where: \.isFinished) }
    /// Models streaming text right now.
    public var activeCount: Int { models.count(where: { $0.status == .active }) }

    /// Folds one event into the state.
    public mutating func apply(_ event: AnalyzeEvent) {
        switch event.payload {
        case .start(let start):
            requestID = start.requestID
            recommended = start.recommended
            for name in start.models {
                _ = index(of: name)
            }
        case .modelStart(let start):
            models[index(of: start.model)].provider = start.provider
        case .textGeneration(let chunk):
            let index = index(of: chunk.model)
            models[index].text += chunk.text
            models[index].textStats.add(chunk.text)
            if models[index].status == .waiting {
                models[index].status = .active
            }
        case .modelEnd(let end):
            let index = index(of: end.model)
            models[index].stats = end.stats
            models[index].status = .completed
        case .error(let error):
            let index = index(of: error.model)
            models[index].error = error
            models[index].status = .error
        case .complete(let complete):
            completion = complete
            if requestID == nil { requestID = complete.requestID }
        }
    }

    /// The index of `name`, adding the model if the stream never announced it. A well-behaved server
    /// lists every model in `start`, but a renderer must not lose text because one did not.
    private mutating func index(of name: String) -> Int {
        if let index = indexByName[name] { return index }
        models.append(Model(name: name))
        indexByName[name] = models.count - 1
        return models.count - 1
    }
}
