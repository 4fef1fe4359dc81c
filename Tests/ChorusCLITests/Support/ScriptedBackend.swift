import ChorusCommandLine
import ChorusCore
import Synchronization

/// A fake server: plays a script of events, can fail or stall, and records what the CLI did.
struct ScriptedBackend: ChorusCLIBackend {
    enum Step: Sendable {
        case event(AnalyzeEvent)
        /// Ends the stream with this error.
        case fail(ChorusError)
        /// Waits until the call is cancelled.
        case stall
    }

    /// What the backend saw; shared with the test.
    final class Probe: Sendable {
        struct Call: Sendable {
            var request: AnalyzeRequest
            var timeout: Duration?
        }

        let calls = Mutex<[Call]>([])
        let cancelled = Atomic<Bool>(false)
        let closed = Atomic<Bool>(false)
        /// Yields once the script reaches a `.stall` step.
        let stalled: AsyncStream<Void>
        let stalledContinuation: AsyncStream<Void>.Continuation

        init() {
            (stalled, stalledContinuation) = AsyncStream<Void>.makeStream()
        }
    }

    var steps: [Step]
    var models: Result<[ModelInfo], ChorusError> = .success([])
    var healthReport: Result<HealthReport, ChorusError> = .failure(ChorusError(.unavailable, "no health scripted"))
    let probe = Probe()

    init(steps: [Step] = []) {
        self.steps = steps
    }

    init(script: EventScript, then last: Step? = nil) {
        self.steps = script.events.map { .event($0) } + (last.map { [$0] } ?? [])
    }

    func analyze(_ request: AnalyzeRequest, timeout: Duration?) -> any AsyncSequence<AnalyzeEvent, any Error> {
        probe.calls.withLock { $0.append(Probe.Call(request: request, timeout: timeout)) }
        let steps = steps
        let probe = probe
        return AsyncThrowingStream<AnalyzeEvent, any Error> { continuation in
            let player = Task {
                for step in steps {
                    switch step {
                    case .event(let event):
                        continuation.yield(event)
                    case .fail(let error):
                        continuation.finish(throwing: error)
                        return
                    case .stall:
                        probe.stalledContinuation.yield()
                        try? await Task.sleep(for: .seconds(3_600))
                        return
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { termination in
                if case .cancelled = termination {
                    probe.cancelled.store(true, ordering: .relaxed)
                }
                player.cancel()
            }
        }
    }

    func listModels() async throws -> [ModelInfo] {
        try models.get()
    }

    func health() async throws -> HealthReport {
        try healthReport.get()
    }

    func close() async {
        probe.closed.store(true, ordering: .relaxed)
    }
}
