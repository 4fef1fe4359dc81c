import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusTestSupport
import Testing

/// Demo models with a chunk interval write their chunks from the ticker's callbacks
/// (`ModelOutputWriter.writeWithoutWaiting`), not from their tasks: these tests hold that path to
/// the same contract as the task path (every chunk once and in order, backpressure, the clocks,
/// switches mid-answer, cancellation).
@Suite("Paced demo streams written from the ticker", .timeLimit(.minutes(1)))
struct PacedDemoTests {
    static let models = ["gemini", "pegasus", "gpt4o"]
    static let query = "What is the dog doing in this video?"

    /// Quick pacing with short answers: 1 ms between chunks.
    static func registry(_ profile: DemoProfile = paced, observer: DemoObserver? = nil, settings: ModelSettings = .clocks()) throws -> ModelRegistry {
        try makeRegistry(models.map { ($0, DemoProvider(profile: profile, observer: observer), settings) })
    }

    static let paced = DemoProfile(firstChunkDelay: .zero, chunkInterval: .milliseconds(1), answerWords: 40...60, wordsPerChunk: 1...2)

    /// The answers without pacing: `[demo:fast]` is stripped before the answer is chosen, so the
    /// text is the same and only the timing differs.
    func unpacedAnswers() async throws -> [AnalyzeEvent] {
        try await collect(
            Orchestrator(registry: Self.registry(), logger: silentLogger),
            AnalyzeRequest(query: "[demo:fast] \(Self.query)", models: Self.models))
    }

    @Test(
        "every chunk arrives once and in order, whether or not the sink reports its capacity",
        arguments: [true, false])
    func sameText(reportsCapacity: Bool) async throws {
        let expected = try await unpacedAnswers()
        let sink = CollectingSink(reportsCapacity: reportsCapacity)
        try await Orchestrator(registry: Self.registry(), logger: silentLogger).analyze(
            AnalyzeRequest(query: Self.query, models: Self.models), context: CallContext(), sink: sink)
        let events = sink.events
        #expect(events.shapeProblems(models: Self.models) == [])
        #expect(events.complete?.succeeded == Self.models)
        for model in Self.models {
            #expect(!expected.text(of: model).isEmpty)
            #expect(events.text(of: model) == expected.text(of: model), "\(model)'s paced text differs")
            #expect(events.events(of: model).count == expected.events(of: model).count)
        }
    }

    @Test("a consumer that does not read holds paced streams back; a slow reader gets every chunk")
    func backpressure() async throws {
        let expected = try await unpacedAnswers()
        let observer = DemoObserver()
        // Room for `start`, the three `model_start`s and some text, so the streams are under way
        // (in their drives) when the sink fills.
        let capacity = 12
        let sink = CollectingSink(capacity: capacity)
        let orchestrator = Orchestrator(registry: try Self.registry(observer: observer), logger: silentLogger)
        let call = Task {
            try await orchestrator.analyze(
                AnalyzeRequest(query: Self.query, models: Self.models), context: CallContext(), sink: sink)
        }
        #expect(await sink.wait(timeout: .seconds(5)) { $0.count >= capacity })
        #expect(sink.events.filter(\.isText).count >= capacity - 1 - Self.models.count)
        // At 1 ms a chunk, 100 ms is far more than the answers need if nothing held them back.
        try await Task.sleep(for: .milliseconds(100))
        // Each producer may append one event past the capacity before it is held back.
        #expect(sink.pendingCount <= capacity + Self.models.count)
        #expect(observer.counts.completed == 0)

        try await drainWhileRunning(sink, every: .milliseconds(2), call: call)
        #expect(sink.maxPendingCount <= capacity + Self.models.count)
        #expect(sink.events.shapeProblems(models: Self.models) == [])
        for model in Self.models {
            #expect(sink.events.text(of: model) == expected.text(of: model))
        }
    }

    @Test("time blocked on a slow consumer between paced chunks does not trip the idle clock")
    func slowConsumerIsNotSilence() async throws {
        let registry = try Self.registry(settings: .clocks(firstChunk: .milliseconds(80), idle: .milliseconds(80)))
        // Room for the line-up and some text: the streams block mid-answer, in their drives.
        let sink = CollectingSink(capacity: 12)
        let call = Task {
            try await Orchestrator(registry: registry, logger: silentLogger).analyze(
                AnalyzeRequest(query: Self.query, models: Self.models), context: CallContext(), sink: sink)
        }
        // Hold the consumer back for several idle periods, then read slowly.
        try await Task.sleep(for: .milliseconds(300))
        #expect(sink.events.filter(\.isText).count >= 12 - 1 - Self.models.count)
        try await drainWhileRunning(sink, every: .milliseconds(20), call: call)
        #expect(sink.events.complete?.succeeded == Self.models)
    }

    @Test("switches mid-answer stop a paced stream at their chunk")
    func switches() async throws {
        let events = try await collect(
            Orchestrator(registry: Self.registry(), logger: silentLogger),
            AnalyzeRequest(
                query: "[demo:fail=gemini@5] [demo:cutoff=pegasus@7] \(Self.query)", models: Self.models))
        let expected = try await unpacedAnswers()
        #expect(events.shapeProblems(models: Self.models) == [])
        #expect(events.error(of: "gemini")?.code == .internal)
        #expect(events.events(of: "gemini").filter(\.isText).count == 5)
        #expect(events.error(of: "pegasus")?.code == .unavailable)
        #expect(events.events(of: "pegasus").filter(\.isText).count == 7)
        #expect(events.text(of: "gpt4o") == expected.text(of: "gpt4o"))
        #expect(expected.text(of: "gemini").hasPrefix(events.text(of: "gemini")))
    }

    @Test("cancelling the caller stops paced streams promptly")
    func cancellation() async throws {
        let observer = DemoObserver()
        let slow = DemoProfile(firstChunkDelay: .zero, chunkInterval: .milliseconds(5), answerWords: 2_000...2_000)
        let sink = CollectingSink()
        let call = Task {
            try await Orchestrator(registry: try Self.registry(slow, observer: observer), logger: silentLogger).analyze(
                AnalyzeRequest(query: Self.query, models: Self.models), context: CallContext(), sink: sink)
        }
        #expect(await sink.wait(timeout: .seconds(5)) { $0.filter(\.isText).count >= 30 })
        let clock = ContinuousClock()
        let cancelledAt = clock.now
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(await observer.wait(for: .cancelled, count: 3, timeout: .seconds(5)))
        #expect(clock.now - cancelledAt < .milliseconds(500))
        let count = sink.events.count
        try await Task.sleep(for: .milliseconds(30))
        #expect(sink.events.count == count, "events after the call was cancelled")
    }
}

extension AnalyzeEvent {
    var isText: Bool {
        if case .textGeneration = payload { return true }
        return false
    }
}
