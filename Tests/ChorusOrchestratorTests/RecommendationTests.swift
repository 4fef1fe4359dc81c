import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusTestSupport
import Testing

@Suite("Recommendations", .timeLimit(.minutes(1)))
struct RecommendationTests {
    @Test(
        "a request without models runs the recommended ones",
        arguments: [
            ("What happens in this video?", ["pegasus", "gemini"]),
            ("Compare the two clips", ["pegasus", "gemini"]),
            ("Describe the main character", ["gpt4o", "pegasus"]),
            ("Please EXPLAIN the ending", ["gpt4o", "pegasus"]),
            ("Who wins the race?", ["gemini", "pegasus"]),
            ("What is a videographer?", ["gemini", "pegasus"]),
        ]
    )
    func recommended(query: String, expected: [String]) async throws {
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(), logger: silentLogger)
        let events = try await collect(orchestrator, AnalyzeRequest(query: "[demo:fast] " + query))
        #expect(events.start?.models == expected)
        #expect(events.start?.recommended == true)
        let starts = events.compactMap { event -> String? in
            if case .modelStart(let start) = event.payload { return start.model }
            return nil
        }
        #expect(starts == expected)
        #expect(events.complete?.succeeded == expected)
        #expect(events.shapeProblems(models: expected).isEmpty)
    }

    @Test("named models are not marked as recommended")
    func namedModels() async throws {
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(), logger: silentLogger)
        let events = try await collect(
            orchestrator, AnalyzeRequest(query: "[demo:fast] What is in this video?", models: ["gpt4o"]))
        #expect(events.start?.models == ["gpt4o"])
        #expect(events.start?.recommended == false)
    }

    @Test("recommendations are capped at the per-call limit")
    func capped() async throws {
        let table = RecommendationTable(rules: [], fallback: ["gemini", "gpt4o", "pegasus"])
        let base = BuiltInRegistry.make()
        let registry = try ModelRegistry(entries: base.entries, recommendations: table)
        let orchestrator = Orchestrator(
            registry: registry, limits: ServiceLimits(maxModelsPerCall: 2), logger: silentLogger)
        let events = try await collect(orchestrator, AnalyzeRequest(query: "[demo:fast] anything"))
        #expect(events.start?.models == ["gemini", "gpt4o"])
    }
}
