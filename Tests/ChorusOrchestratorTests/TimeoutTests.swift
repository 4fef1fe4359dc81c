import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusTestSupport
import Logging
import Testing

@Suite("Model clocks and the call deadline", .timeLimit(.minutes(1)))
struct TimeoutTests {
    @Test("the first-chunk clock fails a silent model and leaves the others alone")
    func firstChunk() async throws {
        let stuck = StallingProvider()
        let registry = try makeRegistry([
            ("stuck", stuck, .clocks(firstChunk: .milliseconds(100))),
            (
                "fine", ScriptedProvider(chunks: ["a", " b"], interval: .milliseconds(150)),
                .clocks(firstChunk: .milliseconds(100))
            ),
        ])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger),
            AnalyzeRequest(query: "q", models: ["stuck", "fine"]))
        let error = try #require(events.error(of: "stuck"))
        #expect(error.code == .deadlineExceeded)
        #expect(error.message == "stuck sent no text within 100ms (first-chunk timeout)")
        #expect(error.retryable)
        #expect(stuck.cancellations == 1)
        // The idle gap of 150 ms is over the first-chunk limit but it is not a first-chunk wait.
        #expect(events.complete?.succeeded == ["fine"])
        #expect(events.shapeProblems(models: ["stuck", "fine"]) == [])
    }

    @Test("the idle clock fails a model that stops mid-answer; its earlier text stays")
    func idle() async throws {
        // The first chunk comes late enough that the watchdog is already waiting on the (30 s)
        // first-chunk clock; the idle expiry must still come on time.
        let stuck = StallingProvider(after: ["The video", " shows"], firstChunkDelay: .milliseconds(40))
        let registry = try makeRegistry([("stuck", stuck, .clocks(idle: .milliseconds(120)))])
        let clock = ContinuousClock()
        var events: [AnalyzeEvent] = []
        let elapsed = try await clock.measure {
            events = try await collect(
                Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["stuck"]))
        }
        #expect(events.error(of: "stuck")?.message == "stuck stalled: no text for 120ms (idle timeout)")
        #expect(events.error(of: "stuck")?.code == .deadlineExceeded)
        #expect(events.text(of: "stuck") == "The video shows")
        #expect(stuck.cancellations == 1)
        #expect(elapsed >= .milliseconds(160))
        #expect(elapsed < .seconds(10), "the idle expiry waited for the first-chunk clock")
        #expect(events.shapeProblems(models: ["stuck"]) == [])
    }

    @Test("the total clock stops a model that keeps talking")
    func total() async throws {
        let chatty = ScriptedProvider(chunks: Array(repeating: " word", count: 100), interval: .milliseconds(10))
        let registry = try makeRegistry([
            ("chatty", chatty, .clocks(idle: .milliseconds(500), total: .milliseconds(200)))
        ])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["chatty"]))
        #expect(events.error(of: "chatty")?.message == "chatty exceeded its total timeout of 200ms")
        let chunks = events.filter { $0.eventType == "text_generation" }.count
        #expect(chunks > 0 && chunks < 100)
        #expect(events.shapeProblems(models: ["chatty"]) == [])
    }

    @Test("time spent preparing (an upload) does not count towards the first-chunk clock; the first token time includes it")
    func preparationSkipsFirstChunkClock() async throws {
        let registry = try makeRegistry([
            (
                "uploading", ScriptedProvider(preparation: .milliseconds(300), chunks: ["a", " b"], firstChunkDelay: .milliseconds(20)),
                .clocks(firstChunk: .milliseconds(100), idle: .milliseconds(100))
            ),
        ])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["uploading"]))
        #expect(events.complete?.succeeded == ["uploading"])
        #expect(events.text(of: "uploading") == "a b")
        // What the user waited for the first token, upload included.
        let stats = try #require(events.stats(of: "uploading"))
        #expect(stats.timeToFirstToken >= .milliseconds(320))
        #expect(events.shapeProblems(models: ["uploading"]) == [])
    }

    @Test("after preparing, the first-chunk clock resumes with what it had left")
    func preparationResumesFirstChunkClock() async throws {
        // 60 ms of the 100 ms first-chunk clock pass before the preparation, 80 ms after it.
        let late = PreparingThenWriting(before: .milliseconds(60), preparation: .milliseconds(200), after: .milliseconds(80))
        let registry = try makeRegistry([("late", late, .clocks(firstChunk: .milliseconds(100), idle: .seconds(10)))])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["late"]))
        #expect(events.error(of: "late")?.message == "late sent no text within 100ms (first-chunk timeout)")
        #expect(events.text(of: "late") == "")
    }

    @Test("a call queued behind a model's max_concurrent does not run out of first-chunk time while it waits")
    func queuedForAPermit() async throws {
        // One permit; each call holds it for about 360 ms while its chunks come every 60 ms.
        let registry = try makeRegistry([
            ("limited", LimitedProvider(limiter: ConcurrencyLimiter(limit: 1)),
             .clocks(firstChunk: .milliseconds(100), idle: .milliseconds(200)))
        ])
        let orchestrator = Orchestrator(registry: registry, logger: silentLogger)
        let outcomes = try await withThrowingTaskGroup(of: [AnalyzeEvent].self) { group in
            for _ in 0..<2 {
                group.addTask { try await collect(orchestrator, AnalyzeRequest(query: "q", models: ["limited"])) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for events in outcomes {
            #expect(events.error(of: "limited") == nil)
            #expect(events.text(of: "limited") == "a b c d e f")
        }
        // The second call's user waited for the first: its first token came after about 360 ms.
        let firstTokens = outcomes.compactMap { $0.stats(of: "limited")?.timeToFirstToken }.sorted()
        #expect(firstTokens.count == 2 && firstTokens[1] >= .milliseconds(300))
    }

    @Test("the total clock runs while a provider prepares")
    func preparationAndTotalClock() async throws {
        let registry = try makeRegistry([
            (
                "uploading", ScriptedProvider(preparation: .seconds(30), chunks: ["never"]),
                .clocks(firstChunk: .milliseconds(50), idle: .milliseconds(50), total: .milliseconds(200))
            ),
        ])
        let clock = ContinuousClock()
        var events: [AnalyzeEvent] = []
        let elapsed = try await clock.measure {
            events = try await collect(
                Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["uploading"]))
        }
        #expect(events.error(of: "uploading")?.message == "uploading exceeded its total timeout of 200ms")
        #expect(elapsed < .seconds(10))
    }

    @Test("the request's model timeout overrides the registry's total clock, shorter or longer")
    func requestOverride() async throws {
        let steps = Array(repeating: " word", count: 30)
        let registry = try makeRegistry([
            ("short", ScriptedProvider(chunks: steps, interval: .milliseconds(10)), .clocks(total: .seconds(30))),
            ("long", ScriptedProvider(chunks: steps, interval: .milliseconds(10)), .clocks(total: .milliseconds(50))),
        ])
        let orchestrator = Orchestrator(registry: registry, logger: silentLogger)
        let shortened = try await collect(
            orchestrator,
            AnalyzeRequest(query: "q", models: ["short"], options: AnalyzeOptions(modelTimeout: .milliseconds(150))))
        #expect(shortened.error(of: "short")?.message == "short exceeded its total timeout of 150ms")
        let lengthened = try await collect(
            orchestrator,
            AnalyzeRequest(query: "q", models: ["long"], options: AnalyzeOptions(modelTimeout: .seconds(10))))
        #expect(lengthened.complete?.succeeded == ["long"])
        #expect(lengthened.text(of: "long") == steps.joined())
    }

    @Test("a demo model stalled by a query directive trips the idle clock and observes the cancellation")
    func demoStallDirective() async throws {
        let observer = DemoObserver()
        let registry = try makeRegistry([
            ("pegasus", DemoProvider(profile: .instant, observer: observer), .clocks(idle: .milliseconds(100))),
            ("gemini", DemoProvider(profile: .instant, observer: observer), .clocks(idle: .milliseconds(100))),
        ])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger),
            AnalyzeRequest(query: "[demo:stall=pegasus] What happens?", models: ["pegasus", "gemini"])
        )
        #expect(events.error(of: "pegasus")?.message == "pegasus stalled: no text for 100ms (idle timeout)")
        #expect(!events.text(of: "pegasus").isEmpty)
        #expect(events.complete?.succeeded == ["gemini"])
        #expect(observer.counts.cancelled == 1)
        #expect(observer.counts.completed == 1)
    }

    @Test("the call deadline ends analyze with DEADLINE_EXCEEDED and stops every model")
    func callDeadline() async throws {
        let first = StallingProvider(after: ["partial"])
        let second = StallingProvider()
        let registry = try makeRegistry([("one", first, .clocks()), ("two", second, .clocks())])
        let sink = CollectingSink()
        let recorder = RecordingLogHandler.Recorder()
        let context = CallContext(deadline: .now.advanced(by: .milliseconds(200)), logger: recorder.logger())
        let error = await #expect(throws: ChorusError.self) {
            try await Orchestrator(registry: registry, logger: silentLogger).analyze(
                AnalyzeRequest(query: "q", models: ["one", "two"]), context: context, sink: sink)
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(error?.message.contains("still running: one, two") == true)
        #expect(first.cancellations == 1 && second.cancellations == 1)
        #expect(sink.events.complete == nil)
        #expect(sink.events.shapeProblems(models: ["one", "two"], complete: false) == [])
        #expect(!sink.events.contains { $0.eventType == "error" })
        #expect(recorder.entries.filter { $0.level == .info }.map { $0.metadata["outcome"] } == ["deadline_exceeded"])
    }

    @Test("a deadline that already passed fails before any event")
    func pastDeadline() async throws {
        let provider = ScriptedProvider(chunks: ["x"])
        let registry = try makeRegistry([("m", provider, .clocks())])
        let sink = CollectingSink()
        let context = CallContext(deadline: .now.advanced(by: .milliseconds(-1)))
        let error = await #expect(throws: ChorusError.self) {
            try await Orchestrator(registry: registry, logger: silentLogger).analyze(
                AnalyzeRequest(query: "q", models: ["m"]), context: context, sink: sink)
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(sink.events.isEmpty)
        #expect(provider.prompts.isEmpty)
    }

    @Test("a deadline later than the call changes nothing")
    func generousDeadline() async throws {
        let registry = try makeRegistry([
            ("m", ScriptedProvider(chunks: ["x", "y"], interval: .milliseconds(20)), .clocks())
        ])
        let context = CallContext(deadline: .now.advanced(by: .seconds(30)))
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["m"]),
            context: context)
        #expect(events.complete?.succeeded == ["m"])
    }
}

/// Waits `before`, prepares for `preparation`, waits `after`, then writes one chunk.
private struct PreparingThenWriting: ModelProvider {
    var before: Duration
    var preparation: Duration
    var after: Duration
    var kind: String { "preparing" }

    func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        try await Task.sleep(for: before)
        try await output.preparing { try await Task.sleep(for: preparation) }
        try await Task.sleep(for: after)
        try await output.write("too late")
        return ModelCompletion(finishReason: "stop")
    }
}

/// Streams six chunks 60 ms apart under `limiter`, through `UpstreamAttempts` as the real adapters do.
private struct LimitedProvider: ModelProvider {
    let limiter: ConcurrencyLimiter
    var kind: String { "limited" }

    func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        try await UpstreamAttempts.run(retry: RetryPolicy(maxAttempts: 1), limiter: limiter, output: output) { output, _ in
            for chunk in ["a", " b", " c", " d", " e", " f"] {
                try await output.write(chunk)
                try await Task.sleep(for: .milliseconds(60))
            }
            return ModelCompletion(finishReason: "stop")
        }
    }
}
