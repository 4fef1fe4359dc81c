import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusTestSupport
import Logging
import Testing

@Suite("Concurrency, cancellation and backpressure", .timeLimit(.minutes(1)))
struct ConcurrencyTests {
    /// A demo model whose answer takes exactly `100 ms + 10 × interval` (11 one-word chunks).
    static func fixedDemo(interval: Int, observer: DemoObserver) -> DemoProvider {
        DemoProvider(
            profile: DemoProfile(
                firstChunkDelay: .milliseconds(100), chunkInterval: .milliseconds(interval), answerWords: 11...11,
                wordsPerChunk: 1...1),
            observer: observer
        )
    }

    @Test("models run concurrently: wall time follows the slowest model, not the sum")
    func wallTime() async throws {
        let observer = DemoObserver()
        // 300 ms, 500 ms and 400 ms answers: 1.2 s if run one after another.
        let registry = try makeRegistry([
            ("quick", Self.fixedDemo(interval: 20, observer: observer), .clocks()),
            ("slow", Self.fixedDemo(interval: 40, observer: observer), .clocks()),
            ("middle", Self.fixedDemo(interval: 30, observer: observer), .clocks()),
        ])
        let orchestrator = Orchestrator(registry: registry, logger: silentLogger)
        var events: [AnalyzeEvent] = []
        let elapsed = try await ContinuousClock().measure {
            events = try await collect(
                orchestrator, AnalyzeRequest(query: "What happens?", models: ["quick", "slow", "middle"]))
        }
        // Compared with the models' own measured durations, so a loaded machine (which slows
        // every model alike) cannot fake or break it: parallel ≈ the slowest, sequential ≈ the sum.
        let durations = events.compactMap { event -> Duration? in
            if case .modelEnd(let end) = event.payload { return end.stats.duration }
            return nil
        }
        #expect(durations.count == 3)
        #expect(elapsed >= .milliseconds(500))
        #expect(elapsed >= (durations.max() ?? .zero))
        #expect(elapsed < durations.reduce(Duration.zero, +) * 0.75)
        #expect(events.complete?.succeeded == ["quick", "slow", "middle"])
        // The quick model finished while the slow one was still talking.
        let quickEnd = try #require(events.firstIndex { $0.eventType == "model_end" && $0.model == "quick" })
        let slowEnd = try #require(events.firstIndex { $0.eventType == "model_end" && $0.model == "slow" })
        #expect(quickEnd < slowEnd)
        #expect(events[quickEnd...].contains { $0.eventType == "text_generation" && $0.model == "slow" })
        #expect(observer.counts.completed == 3)
    }

    @Test("cancelling the caller stops every model promptly and analyze throws CancellationError")
    func cancellation() async throws {
        let observer = DemoObserver()
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(observer: observer), logger: silentLogger)
        let sink = CollectingSink()
        let recorder = RecordingLogHandler.Recorder()
        let context = CallContext(logger: recorder.logger())
        let call = Task {
            try await orchestrator.analyze(
                AnalyzeRequest(query: "What happens?", models: ["gemini", "pegasus", "gpt4o"]), context: context,
                sink: sink)
        }
        // Every model is mid-answer (the built-in profiles take seconds) once each has sent text.
        let midAnswer = await sink.wait(timeout: .seconds(10)) { events in
            Set(events.filter { $0.eventType == "text_generation" }.compactMap(\.model)).count == 3
        }
        #expect(midAnswer)
        let clock = ContinuousClock()
        let cancelledAt = clock.now
        call.cancel()
        var failure: (any Error)?
        do { try await value(of: call) } catch { failure = error }
        let stopped = clock.now - cancelledAt

        #expect(failure is CancellationError)
        #expect(recorder.entries.filter { $0.level == .info }.map { $0.metadata["outcome"] } == ["cancelled"])
        #expect(await observer.wait(for: .cancelled, count: 3, timeout: .seconds(5)))
        #expect(observer.counts.completed == 0)
        // Generous bound: "promptly" means no model ran on to the end of its answer (seconds away).
        #expect(stopped < .seconds(1))
        #expect(sink.events.complete == nil)
        #expect(sink.events.shapeProblems(models: ["gemini", "pegasus", "gpt4o"], complete: false) == [])
        // The caller is gone: models stop without reporting errors of their own.
        #expect(!sink.events.contains { $0.eventType == "error" || $0.eventType == "model_end" })
        // Nothing is appended after analyze returned.
        let count = sink.events.count
        try await Task.sleep(for: .milliseconds(100))
        #expect(sink.events.count == count)
    }

    @Test("a consumer that does not read holds every producer back; draining lets the call finish")
    func backpressure() async throws {
        let observer = DemoObserver()
        let capacity = 4
        let models = ["gemini", "pegasus", "gpt4o"]
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(observer: observer), logger: silentLogger)
        let sink = CollectingSink(capacity: capacity)
        let call = Task {
            try await orchestrator.analyze(
                AnalyzeRequest(query: "[demo:fast] What happens?", models: models), context: CallContext(), sink: sink)
        }
        // Let the providers run into the full sink ([demo:fast] would otherwise finish in milliseconds).
        #expect(await sink.wait(timeout: .seconds(5)) { $0.count >= capacity })
        try await Task.sleep(for: .milliseconds(300))
        // Each producer may append one event past the capacity before it waits.
        #expect(sink.pendingCount <= capacity + models.count)
        #expect(observer.counts.completed == 0)

        try await drainWhileRunning(sink, every: .milliseconds(1), call: call)
        #expect(sink.maxPendingCount <= capacity + models.count)
        #expect(sink.events.complete?.succeeded == models)
        #expect(sink.events.shapeProblems(models: models) == [])
        #expect(observer.counts.completed == 3)
    }

    @Test("time blocked on a slow consumer does not trip the idle or first-chunk clocks")
    func slowConsumerIsNotSilence() async throws {
        let registry = try makeRegistry([
            (
                "a", ScriptedProvider(chunks: Array(repeating: " w", count: 10)),
                .clocks(firstChunk: .milliseconds(80), idle: .milliseconds(80))
            ),
            (
                "b", ScriptedProvider(chunks: Array(repeating: " w", count: 10)),
                .clocks(firstChunk: .milliseconds(80), idle: .milliseconds(80))
            ),
        ])
        let sink = CollectingSink(capacity: 2)
        let call = Task {
            try await Orchestrator(registry: registry, logger: silentLogger).analyze(
                AnalyzeRequest(query: "q", models: ["a", "b"]), context: CallContext(), sink: sink)
        }
        // Hold the consumer back for several idle periods, then read slowly.
        try await Task.sleep(for: .milliseconds(300))
        try await drainWhileRunning(sink, every: .milliseconds(20), call: call)
        #expect(sink.events.complete?.succeeded == ["a", "b"])
        #expect(sink.events.error(of: "a") == nil && sink.events.error(of: "b") == nil)
    }

    @Test("analyze returns once complete is appended, even if the consumer stops reading there")
    func noWaitAfterComplete() async throws {
        let registry = try makeRegistry([("m", ScriptedProvider(chunks: ["a", " b", " c"]), .clocks())])
        let sink = CollectingSink(capacity: 1)
        let call = Task {
            try await Orchestrator(registry: registry, logger: silentLogger).analyze(
                AnalyzeRequest(query: "q", models: ["m"]), context: CallContext(), sink: sink)
        }
        // Read until `complete`, then stop for good: the pending `complete` fills the sink.
        let giveUp = ContinuousClock.now.advanced(by: .seconds(10))
        while sink.events.complete == nil, ContinuousClock.now < giveUp {
            sink.drain()
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(sink.pendingCount >= 1)
        try await value(of: call)
        #expect(sink.events.complete?.succeeded == ["m"])
    }

    @Test("a consumer that goes away ends the call with its error and stops the models")
    func consumerGone() async throws {
        let observer = DemoObserver()
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(observer: observer), logger: silentLogger)
        let buffer = AnalyzeEventBuffer(capacity: 2)
        let call = Task {
            try await orchestrator.analyze(
                AnalyzeRequest(query: "What happens?", models: ["gemini", "pegasus"]), context: CallContext(),
                sink: buffer)
        }
        // Read the line-up so both models get going, then walk away.
        var iterator = buffer.makeAsyncIterator()
        for _ in 0..<3 { _ = try await iterator.next() }
        #expect(await observer.wait(for: .started, count: 2, timeout: .seconds(5)))
        buffer.cancelConsumer()
        await #expect(throws: CancellationError.self) { try await value(of: call) }
        #expect(await observer.wait(until: { $0.cancelled + $0.failed == 2 }, timeout: .seconds(5)))
        #expect(observer.counts.completed == 0)
    }
}
