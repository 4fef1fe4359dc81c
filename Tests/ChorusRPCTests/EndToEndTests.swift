import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusRPCClient
import ChorusRPCServer
import Logging
import Synchronization
import Testing

/// The real stack over loopback: client → RPC server → orchestrator → demo providers.
@Suite("End to end over loopback with demo models")
struct EndToEndTests {
    static func orchestrator(_ registry: ModelRegistry) -> Orchestrator {
        Orchestrator(registry: registry, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test("three demo models stream side by side with a well-formed, contiguous event stream")
    func threeModels() async throws {
        try await withServer(service: Self.orchestrator(BuiltInRegistry.make())) { _, port in
            try await withClient(port: port) { client in
                let request = AnalyzeRequest(query: "What is happening in this video? [demo:fast]", models: ["gemini", "pegasus", "gpt4o"], requestID: "e2e-1")
                let events = try await collect(client.analyze(request))
                #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
                guard case .start(let start) = events.first?.payload, case .complete(let complete) = events.last?.payload else {
                    Issue.record("stream must begin with start and end with complete")
                    return
                }
                #expect(start.models == ["gemini", "pegasus", "gpt4o"])
                #expect(start.requestID == "e2e-1")
                #expect(Set(complete.succeeded) == ["gemini", "pegasus", "gpt4o"])
                for model in ["gemini", "pegasus", "gpt4o"] {
                    let own = events.filter { $0.model == model }
                    guard case .modelStart(let modelStart) = own.first?.payload else {
                        Issue.record("\(model) must start with model_start")
                        continue
                    }
                    #expect(modelStart.provider == "demo")
                    guard case .modelEnd(let end) = own.last?.payload else {
                        Issue.record("\(model) must end with model_end")
                        continue
                    }
                    let text = own.compactMap(\.text).joined()
                    #expect(!text.isEmpty)
                    #expect(end.stats.characters == text.count)
                    #expect(own.dropFirst().dropLast().allSatisfy { $0.text != nil })
                }
            }
        }
    }

    @Test("cancelling mid-stream stops every model promptly; the demo provider observes it")
    func cancelMidStream() async throws {
        let observer = DemoObserver()
        try await withServer(service: Self.orchestrator(BuiltInRegistry.make(observer: observer))) { _, port in
            try await withClient(port: port) { client in
                let request = AnalyzeRequest(query: "Describe every scene", models: ["gemini", "pegasus", "gpt4o"])
                for try await event in client.analyze(request) where event.text != nil {
                    break  // first text chunk: walk away
                }
                let started = ContinuousClock.now
                let stopped = await observer.wait(for: .cancelled, count: 3, timeout: .seconds(5))
                #expect(stopped, "all three demo models must observe cancellation (counts: \(observer.counts))")
                #expect(ContinuousClock.now - started < .seconds(1))
                #expect(observer.counts.completed == 0)
            }
        }
    }

    @Test("one model failing never stops the others")
    func oneModelFails() async throws {
        try await withServer(service: Self.orchestrator(BuiltInRegistry.make())) { _, port in
            try await withClient(port: port) { client in
                let request = AnalyzeRequest(query: "Summarise it [demo:fast] [demo:fail=gemini@2:unavailable]", models: ["gemini", "pegasus", "gpt4o"])
                let events = try await collect(client.analyze(request))
                let errors = events.compactMap { event -> ModelError? in
                    if case .error(let error) = event.payload { return error }
                    return nil
                }
                #expect(errors.map(\.model) == ["gemini"])
                #expect(errors.first?.code == .unavailable)
                #expect(errors.first?.retryable == true)
                #expect(!events.contains { if case .modelEnd(let end) = $0.payload { return end.model == "gemini" } else { return false } })
                guard case .complete(let complete) = events.last?.payload else {
                    Issue.record("missing complete")
                    return
                }
                #expect(complete.failed == ["gemini"])
                #expect(Set(complete.succeeded) == ["pegasus", "gpt4o"])
            }
        }
    }

    @Test("a call deadline ends the call with DEADLINE_EXCEEDED and cancels the models")
    func callDeadline() async throws {
        let observer = DemoObserver()
        try await withServer(service: Self.orchestrator(BuiltInRegistry.make(observer: observer))) { _, port in
            try await withClient(port: port) { client in
                let request = AnalyzeRequest(query: "What happens?", models: ["gemini", "pegasus"])
                do {
                    _ = try await collect(client.analyze(request, options: CallOptions(timeout: .milliseconds(150))))
                    Issue.record("expected DEADLINE_EXCEEDED")
                } catch let error as ChorusError {
                    #expect(error.code == .deadlineExceeded)
                }
                #expect(await observer.wait(for: .cancelled, count: 2, timeout: .seconds(5)))
            }
        }
    }

    @Test("bad requests get INVALID_ARGUMENT with a message naming the problem", arguments: [
        (AnalyzeRequest(query: "   ", models: ["gemini"]), "query must not be empty"),
        (AnalyzeRequest(query: "q", models: ["gpt5"]), "unknown model 'gpt5'; known: gemini, gpt4o, pegasus"),
        (AnalyzeRequest(query: "q", models: ["gemini", "gemini"]), "duplicate model 'gemini' in models"),
        (AnalyzeRequest(query: String(repeating: "a", count: 8001), models: ["gemini"]), "query is 8001 characters; the maximum is 8000"),
        (AnalyzeRequest(query: "q", models: Array(repeating: "gemini", count: 9)), "models lists 9 entries; the maximum per call is 8"),
    ])
    func badRequests(request: AnalyzeRequest, message: String) async throws {
        try await withServer(service: Self.orchestrator(BuiltInRegistry.make())) { _, port in
            try await withClient(port: port) { client in
                await #expect(throws: ChorusError(.invalidArgument, message)) {
                    _ = try await collect(client.analyze(request))
                }
                // The connection and server carry on.
                let health = try await client.health()
                #expect(health.status == .serving)
            }
        }
    }

    @Test("models run in parallel: wall time is the slowest model, not the sum")
    func parallelWallTime() async throws {
        func profile(_ firstChunk: Int) -> DemoProfile {
            DemoProfile(firstChunkDelay: .milliseconds(firstChunk), chunkInterval: .milliseconds(10), answerWords: 5...5, wordsPerChunk: 1...1)
        }
        let registry = try ModelRegistry(
            entries: [("a", 300), ("b", 500), ("c", 400)].map { name, delay in
                ModelRegistry.Entry(name: name, provider: DemoProvider(profile: profile(delay)), settings: ModelSettings(demo: true))
            },
            recommendations: RecommendationTable(rules: [], fallback: ["a"])
        )
        try await withServer(service: Self.orchestrator(registry)) { _, port in
            try await withClient(port: port) { client in
                let started = ContinuousClock.now
                let events = try await collect(client.analyze(AnalyzeRequest(query: "q", models: ["a", "b", "c"])))
                let wall = ContinuousClock.now - started
                let durations = events.compactMap { event -> Duration? in
                    if case .modelEnd(let end) = event.payload { return end.stats.duration }
                    return nil
                }
                #expect(durations.count == 3)
                // Compare with the models' own measured durations rather than fixed numbers, so a
                // loaded CI machine (which slows every model alike) cannot make this flaky.
                // Sequential would be ≈ their sum (≈ 1.3 s unloaded); parallel ≈ the slowest (≈ 0.54 s).
                let slowest = durations.max() ?? .zero
                let sum = durations.reduce(Duration.zero, +)
                #expect(wall >= slowest)
                #expect(wall < sum * 0.75, "wall time \(wall) vs models' sum \(sum): looks sequential")
                #expect(slowest >= .milliseconds(500))
            }
        }
    }

    @Test("a tiny flow-control window with three concurrent producers neither hangs nor loses events")
    func tinyWindowManyProducers() async throws {
        try await withServer(service: Self.orchestrator(BuiltInRegistry.make())) { _, port in
            try await withClient(port: port) { client in
                let request = AnalyzeRequest(query: "What is shown? [demo:fast]", models: ["gemini", "pegasus", "gpt4o"])
                let events = try await collect(client.analyze(request, options: CallOptions(timeout: .seconds(20), window: 1000)))
                #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
                guard case .complete(let complete) = events.last?.payload else {
                    Issue.record("missing complete")
                    return
                }
                #expect(complete.succeeded.count == 3)
            }
        }
    }

    @Test("ListModels says the built-in models are demo models")
    func listModels() async throws {
        try await withServer(service: Self.orchestrator(BuiltInRegistry.make())) { _, port in
            try await withClient(port: port) { client in
                let models = try await client.listModels()
                #expect(models.map(\.name) == ["gemini", "gpt4o", "pegasus"])
                #expect(models.allSatisfy { $0.provider == "demo" && $0.demo && $0.available })
            }
        }
    }
}
