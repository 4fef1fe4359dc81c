import ChorusCore
import Logging
import Synchronization

/// Which models of a call succeeded and which failed, in request order.
struct CallResult: Sendable, Hashable {
    var succeeded: [String]
    var failed: [String]
}

/// One validated Analyze call: emits `start` and the `model_start`s, fans the models out in a task
/// group next to an optional deadline child, and emits `complete` once every model has ended.
struct AnalyzeCall: Sendable {
    let call: ValidatedRequest
    let options: AnalyzeOptions
    let video: VideoReference
    let deadline: ContinuousClock.Instant?
    let emitter: EventEmitter
    let logger: Logger
    private let tally: Tally

    private enum Step: Sendable {
        case model(index: Int, succeeded: Bool)
        case deadlinePassed
    }

    init(
        call: ValidatedRequest, options: AnalyzeOptions, video: VideoReference, deadline: ContinuousClock.Instant?,
        sink: any AnalyzeEventSink, logger: Logger
    ) {
        self.call = call
        self.options = options
        self.video = video
        self.deadline = deadline
        self.emitter = EventEmitter(sink: sink)
        self.logger = logger
        self.tally = Tally(count: call.models.count)
    }

    /// The models that had ended when the call stopped (for the log line of a call that did not complete).
    var partialResult: CallResult { tally.result(models: call.models) }

    func run(started: ContinuousClock.Instant) async throws -> CallResult {
        if let deadline, deadline <= .now {
            throw ChorusError(.deadlineExceeded, "the call's deadline had already passed when it started")
        }
        try await emitter.emit(
            .start(StreamStart(models: call.models, recommended: call.recommended, requestID: call.requestID)))
        // All model_start events go out before any model runs, so clients see the line-up first and in
        // request order.
        for entry in call.entries {
            try await emitter.emit(.modelStart(ModelStart(model: entry.name, provider: entry.provider.kind)))
        }

        try await withThrowingTaskGroup(of: Step.self) { group in
            for (index, entry) in call.entries.enumerated() {
                let run = modelRun(for: entry)
                group.addTask { .model(index: index, succeeded: try await run.run()) }
            }
            if let deadline {
                group.addTask {
                    try await CallTimers.sleep(until: deadline)
                    return .deadlinePassed
                }
            }
            var remaining = call.entries.count
            while remaining > 0, let step = try await group.next() {
                switch step {
                case .model(let index, let succeeded):
                    tally.record(index: index, succeeded: succeeded)
                    remaining -= 1
                case .deadlinePassed:
                    // Throwing out of the group body cancels every model and waits for them to stop.
                    let running = tally.unfinished(models: call.models)
                    throw ChorusError(
                        .deadlineExceeded,
                        "the call's deadline passed after \((ContinuousClock.now - started).compactDescription); still running: \(running.joined(separator: ", "))"
                    )
                }
            }
            // Every model has ended; stop the deadline child.
            group.cancelAll()
        }

        // A caller that went away while the last model finished gets no `complete`.
        try Task.checkCancellation()
        let result = tally.result(models: call.models)
        try await emitter.emit(
            .complete(
                StreamComplete(
                    succeeded: result.succeeded, failed: result.failed, duration: .now - started,
                    requestID: call.requestID)),
            last: true
        )
        return result
    }

    private func modelRun(for entry: ModelRegistry.Entry) -> ModelRun {
        let prompt = ModelPrompt(
            model: entry.name,
            query: call.query,
            video: video,
            maxOutputTokens: options.maxOutputTokens,
            temperature: options.temperature,
            requestID: call.requestID
        )
        let limits = ModelClocks.Limits(
            firstChunk: entry.settings.firstChunkTimeout,
            idle: entry.settings.idleTimeout,
            total: options.modelTimeout ?? entry.settings.totalTimeout
        )
        return ModelRun(entry: entry, prompt: prompt, limits: limits, emitter: emitter, logger: logger)
    }
}

extension AnalyzeCall {
    /// Outcome per model index, shared by the group loop and ``partialResult``.
    final class Tally: Sendable {
        private let outcomes: Mutex<[Bool?]>

        init(count: Int) {
            outcomes = Mutex(Array(repeating: nil, count: count))
        }

        func record(index: Int, succeeded: Bool) {
            outcomes.withLock { $0[index] = succeeded }
        }

        func result(models: [String]) -> CallResult {
            outcomes.withLock { outcomes in
                var result = CallResult(succeeded: [], failed: [])
                for (model, outcome) in zip(models, outcomes) {
                    switch outcome {
                    case true?: result.succeeded.append(model)
                    case false?: result.failed.append(model)
                    case nil: break
                    }
                }
                return result
            }
        }

        func unfinished(models: [String]) -> [String] {
            outcomes.withLock { outcomes in zip(models, outcomes).filter { $0.1 == nil }.map(\.0) }
        }
    }
}
