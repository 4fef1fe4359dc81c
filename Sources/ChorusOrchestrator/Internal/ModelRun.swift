import ChorusCore
import Logging
import Synchronization

/// Runs one model of a call: the provider in one child task, a watchdog enforcing the model's three
/// clocks in another. Whichever finishes first decides; the other is cancelled.
struct ModelRun: Sendable {
    let entry: ModelRegistry.Entry
    let prompt: ModelPrompt
    let limits: ModelClocks.Limits
    let emitter: EventEmitter
    let logger: Logger

    private enum Step: Sendable {
        case finished(ModelCompletion)
        case expired(ModelClocks.Expiry)
    }

    /// Runs the model and appends its chunks and exactly one terminal event (`model_end` or `error`).
    ///
    /// - Returns: true when the model ended with `model_end`.
    /// - Throws: only when the whole call must end: the task was cancelled (no terminal event is
    ///   appended then) or the sink failed.
    func run() async throws -> Bool {
        let model = entry.name
        guard entry.settings.available else {
            let reason = entry.settings.unavailableReason.map { ": \($0)" } ?? " (for example its API key is missing)"
            let error = ChorusError(
                .failedPrecondition,
                "model '\(model)' is unavailable on this server\(reason); it was not run"
            )
            try await emitter.emit(.error(ModelError(model: model, error: error)))
            return false
        }

        let progress = ModelProgress(clocks: ModelClocks(limits: limits, started: .now))
        let emitter = self.emitter
        let output = ModelOutputWriter(
            { text in
                // A refused chunk means a clock already ran out; throwing stops a provider that has not
                // yet noticed its cancellation, so no text follows the model's error event.
                guard progress.chunkArrived(text) else { throw CancellationError() }
                defer { progress.writeFinished() }
                try await emitter.emit(.textGeneration(TextGeneration(model: model, text: text)))
            },
            immediate: ModelOutputWriter.Immediate(
                write: { text in
                    guard progress.chunkArrived(text) else { throw CancellationError() }
                    let room: Bool
                    do {
                        room = try emitter.emitWithoutWaiting(.textGeneration(TextGeneration(model: model, text: text)))
                    } catch {
                        progress.writeFinished()
                        throw error
                    }
                    // Until the consumer has room again the write counts as in flight (finished by
                    // `waitForRoom`), so the idle clock does not blame the model for the consumer's
                    // silence, as with `write`.
                    guard room else { return .mustWait }
                    progress.writeFinished()
                    return .written
                },
                waitForRoom: {
                    defer { progress.writeFinished() }
                    try await emitter.waitForCapacity()
                }),
            preparation: { active in progress.preparation(active) })

        let outcome: Result<Step, any Error>
        do {
            outcome = .success(
                try await withThrowingTaskGroup(of: Step.self) { [entry, prompt] group in
                    group.addTask { .finished(try await entry.provider.generate(prompt, output: output)) }
                    group.addTask { .expired(try await progress.watch()) }
                    defer { group.cancelAll() }
                    guard let first = try await group.next() else { throw CancellationError() }
                    return first
                })
        } catch {
            outcome = .failure(error)
        }

        // The call is ending (caller gone or call deadline): the parent reports that, not this model.
        try Task.checkCancellation()

        let end = ContinuousClock.now
        let (clocks, text) = progress.snapshot
        if let expiry = clocks.expiry {
            return try await fail(ChorusError(.deadlineExceeded, expiry.message(model: model)))
        }
        switch outcome {
        case .success(.finished(let completion)):
            let stats = ModelStats(completion: completion, clocks: clocks, text: text, end: end)
            try await emitter.emit(.modelEnd(ModelEnd(model: model, stats: stats)))
            return true
        case .success(.expired(let expiry)):
            // Unreachable in practice (the watchdog records its expiry before returning), kept total.
            return try await fail(ChorusError(.deadlineExceeded, expiry.message(model: model)))
        case .failure(let error):
            return try await fail(ChorusError(from: error))
        }
    }

    private func fail(_ error: ChorusError) async throws -> Bool {
        logger.debug(
            "model failed",
            metadata: [
                "request.id": .string(prompt.requestID), "model": .string(entry.name),
                "error.code": .string(error.code.name), "error.message": .string(error.message),
            ])
        try await emitter.emit(.error(ModelError(model: entry.name, error: error)))
        return false
    }
}

/// The state one model run shares between its output writer and its watchdog.
final class ModelProgress: Sendable {
    private struct State {
        var clocks: ModelClocks
        var text = TextStatsAccumulator()
    }

    private let state: Mutex<State>

    init(clocks: ModelClocks) {
        self.state = Mutex(State(clocks: clocks))
    }

    /// Counts a chunk; false when a clock has already expired and the chunk must be refused.
    func chunkArrived(_ chunk: String) -> Bool {
        state.withLock { state in
            guard state.clocks.chunkArrived(at: .now) else { return false }
            state.text.add(chunk)
            return true
        }
    }

    func writeFinished() {
        state.withLock { $0.clocks.writeFinished(at: .now) }
    }

    /// A preparation step (an upload, say) began (`true`) or ended (`false`).
    func preparation(_ active: Bool) {
        state.withLock { state in
            if active {
                state.clocks.preparationBegan(at: .now)
            } else {
                state.clocks.preparationEnded(at: .now)
            }
        }
    }

    /// Sleeps until a clock expires and returns which one. Wakes only at computed deadlines; cancelled
    /// (throwing `CancellationError`) when the provider finishes first.
    func watch() async throws -> ModelClocks.Expiry {
        while true {
            switch state.withLock({ $0.clocks.check(now: .now) }) {
            case .expire(let expiry):
                return expiry
            case .sleep(let deadline):
                try await CallTimers.sleep(until: deadline)
            }
        }
    }

    var snapshot: (ModelClocks, TextStatsAccumulator) {
        state.withLock { ($0.clocks, $0.text) }
    }
}

extension ModelStats {
    /// Stats for a model that completed at `end`.
    ///
    /// Tokens per second counts output tokens (or words when the provider reported none) over the time
    /// after the first chunk; it is 0 when that time is under a millisecond, where the rate means nothing.
    init(completion: ModelCompletion, clocks: ModelClocks, text: TextStatsAccumulator, end: ContinuousClock.Instant) {
        let generating = clocks.firstChunkAt.map { end - $0 } ?? .zero
        let units = completion.outputTokens ?? text.words
        self.init(
            timeToFirstToken: clocks.firstChunkAt.map { $0 - clocks.started } ?? .zero,
            duration: end - clocks.started,
            characters: text.characters,
            words: text.words,
            averageWordLength: text.averageWordLength,
            outputTokens: completion.outputTokens,
            tokensPerSecond: generating >= .milliseconds(1) ? Double(units) / generating.seconds : 0,
            finishReason: completion.finishReason,
            cached: completion.cached
        )
    }
}
