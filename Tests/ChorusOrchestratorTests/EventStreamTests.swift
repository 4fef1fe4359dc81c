import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

@Suite("Event stream", .timeLimit(.minutes(1)))
struct EventStreamTests {
    @Test("events follow the contract: start, model_starts, interleaved text, one terminal per model, complete")
    func order() async throws {
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(), logger: silentLogger)
        let models = ["pegasus", "gemini", "gpt4o"]
        let before = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let events = try await collect(orchestrator, AnalyzeRequest(query: "[demo:fast] What happens?", models: models))
        let after = Int64(Date().timeIntervalSince1970 * 1_000_000)

        #expect(events.shapeProblems(models: models) == [])
        #expect(
            events.start == StreamStart(models: models, recommended: false, requestID: events.start?.requestID ?? ""))
        // The line-up comes first, in request order.
        #expect(events[1...3].map(\.eventType) == ["model_start", "model_start", "model_start"])
        #expect(events[1...3].map(\.model) == models)
        for event in events {
            if case .modelStart(let start) = event.payload { #expect(start.provider == "demo") }
            #expect(event.timestampMicros >= before - 1_000_000 && event.timestampMicros <= after + 1_000_000)
        }
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.timestampMicros <= $1.timestampMicros + 1_000 })
        #expect(events.complete?.succeeded == models)
        #expect(events.complete?.failed == [])
        for model in models {
            #expect(events.text(of: model).split(separator: " ").count >= 20)
        }
    }

    @Test("one model failing does not stop the others")
    func partialFailure() async throws {
        let failure = ChorusError(.resourceExhausted, "quota exceeded", retryAfter: .seconds(7))
        let registry = try makeRegistry([
            ("alpha", ScriptedProvider(chunks: ["one", " two", " three"], interval: .milliseconds(20)), .clocks()),
            ("broken", FailingProvider(error: failure, after: ["partial"], delay: .milliseconds(10)), .clocks()),
            ("gamma", ScriptedProvider(chunks: ["four", " five"], interval: .milliseconds(30)), .clocks()),
        ])
        let orchestrator = Orchestrator(registry: registry, logger: silentLogger)
        let events = try await collect(orchestrator, AnalyzeRequest(query: "q", models: ["gamma", "broken", "alpha"]))

        #expect(events.shapeProblems(models: ["gamma", "broken", "alpha"]) == [])
        let error = try #require(events.error(of: "broken"))
        #expect(
            error
                == ModelError(
                    model: "broken", code: .resourceExhausted, message: "quota exceeded", retryable: true,
                    retryAfter: .seconds(7)))
        #expect(events.text(of: "broken") == "partial")
        #expect(events.text(of: "alpha") == "one two three")
        #expect(events.text(of: "gamma") == "four five")
        #expect(events.complete?.succeeded == ["gamma", "alpha"])
        #expect(events.complete?.failed == ["broken"])
    }

    struct PlainError: Error {}

    @Test("a non-Chorus error becomes UNKNOWN")
    func foreignError() async throws {
        let registry = try makeRegistry([("odd", FailingProvider(error: PlainError()), .clocks())])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["odd"]))
        #expect(events.error(of: "odd")?.code == .unknown)
        #expect(events.complete?.failed == ["odd"])
    }

    @Test("an unavailable model gets FAILED_PRECONDITION without being run")
    func unavailable() async throws {
        let offline = ScriptedProvider(chunks: ["never"])
        var settings = ModelSettings.clocks()
        settings.available = false
        let registry = try makeRegistry([
            ("offline", offline, settings),
            ("online", ScriptedProvider(chunks: ["hello"]), .clocks()),
        ])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger),
            AnalyzeRequest(query: "q", models: ["offline", "online"]))
        let error = try #require(events.error(of: "offline"))
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("unavailable"))
        #expect(offline.prompts.isEmpty)
        #expect(events.complete?.succeeded == ["online"])
        #expect(events.complete?.failed == ["offline"])
        #expect(events.shapeProblems(models: ["offline", "online"]) == [])
    }

    @Test("the prompt carries the query, video, options and request id")
    func prompt() async throws {
        let provider = ScriptedProvider(kind: "echo", chunks: ["ok"])
        let registry = try makeRegistry([("m", provider, .clocks())])
        let request = AnalyzeRequest(
            query: "What is shown?", models: ["m"], video: VideoReference(indexID: "idx", videoID: "vid"),
            requestID: "r-1",
            options: AnalyzeOptions(maxOutputTokens: 64, temperature: 0.2)
        )
        let events = try await collect(Orchestrator(registry: registry, logger: silentLogger), request)
        let prompt = try #require(provider.prompts.first)
        #expect(prompt.model == "m")
        #expect(prompt.query == "What is shown?")
        #expect(prompt.video == VideoReference(indexID: "idx", videoID: "vid"))
        #expect(prompt.maxOutputTokens == 64)
        #expect(prompt.temperature == 0.2)
        #expect(prompt.requestID == "r-1")
        #expect(events.events(of: "m").first?.payload == .modelStart(ModelStart(model: "m", provider: "echo")))
    }

    @Test("listModels and health describe the registry and the calls in flight")
    func listAndHealth() async throws {
        let registry = try makeRegistry([
            ("slow", StallingProvider(), .clocks()),
            ("fast", ScriptedProvider(chunks: ["x"]), .clocks()),
        ])
        let orchestrator = Orchestrator(registry: registry, version: "9.9.9", logger: silentLogger)
        let models = try await orchestrator.listModels(context: CallContext())
        #expect(models.map(\.name) == ["fast", "slow"])
        #expect(models.map(\.provider) == ["scripted", "stalling"])

        var health = try await orchestrator.health(context: CallContext())
        #expect(health.status == .serving)
        #expect(health.version == "9.9.9")
        #expect(health.activeCalls == 0)

        let sink = CollectingSink()
        let call = Task {
            try await orchestrator.analyze(
                AnalyzeRequest(query: "q", models: ["slow"]), context: CallContext(), sink: sink)
        }
        #expect(await sink.wait(timeout: .seconds(5)) { $0.count >= 2 })
        health = try await orchestrator.health(context: CallContext())
        #expect(health.activeCalls == 1)
        call.cancel()
        _ = try? await value(of: call)
        health = try await orchestrator.health(context: CallContext())
        #expect(health.activeCalls == 0)
        #expect(health.uptime > .zero)
    }

    @Test("one info line per call with the call's facts")
    func logging() async throws {
        let recorder = RecordingLogHandler.Recorder()
        let context = CallContext(logger: recorder.logger())
        let registry = try makeRegistry([
            ("good", ScriptedProvider(chunks: ["x"]), .clocks()),
            ("bad", FailingProvider(error: ChorusError(.internal, "boom")), .clocks()),
        ])
        let orchestrator = Orchestrator(registry: registry, logger: silentLogger)
        try await orchestrator.analyze(
            AnalyzeRequest(query: "q", models: ["good", "bad"], requestID: "log-1"), context: context,
            sink: CollectingSink())
        await #expect(throws: ChorusError.self) {
            try await orchestrator.analyze(
                AnalyzeRequest(query: " ", models: ["good"], requestID: "log-2"), context: context,
                sink: CollectingSink())
        }

        let lines = recorder.entries.filter { $0.level == .info }
        try #require(lines.count == 2)
        #expect(lines[0].metadata["request.id"] == "log-1")
        #expect(lines[0].metadata["models"] == "good,bad")
        #expect(lines[0].metadata["outcome"] == "ok")
        #expect(lines[0].metadata["succeeded"] == "1")
        #expect(lines[0].metadata["failed"] == "1")
        #expect(lines[0].metadata["duration_ms"].flatMap { Int($0) } != nil)
        #expect(lines[1].metadata["request.id"] == "log-2")
        #expect(lines[1].metadata["outcome"] == "invalid_argument")
    }
}
