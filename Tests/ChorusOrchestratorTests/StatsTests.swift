import ChorusCore
import ChorusOrchestrator
import ChorusTestSupport
import Testing

@Suite("Model stats", .timeLimit(.minutes(1)))
struct StatsTests {
    @Test("text stats count a word split across chunks once")
    func textStats() async throws {
        // "The video shows a cat.  Then it sleeps." — "video" and "Then" are split across chunks.
        let chunks = ["The vid", "eo shows", " a cat.  Th", "en it", " sleeps."]
        let provider = ScriptedProvider(
            chunks: chunks, completion: ModelCompletion(finishReason: "stop", outputTokens: 11, cached: true))
        let registry = try makeRegistry([("m", provider, .clocks())])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["m"]))
        let stats = try #require(events.stats(of: "m"))
        let text = chunks.joined()
        #expect(stats.characters == text.count)
        #expect(stats.words == 8)
        // The, video, shows, a, cat., Then, it, sleeps. → 3+5+5+1+4+4+2+7 = 31 letters over 8 words.
        #expect(stats.averageWordLength == 31.0 / 8.0)
        #expect(stats.outputTokens == 11)
        #expect(stats.finishReason == "stop")
        #expect(stats.cached)
    }

    @Test("timings: first token, duration and rate after the first token")
    func timings() async throws {
        let provider = ScriptedProvider(
            chunks: ["one", " two", " three", " four", " five"], firstChunkDelay: .milliseconds(80),
            interval: .milliseconds(40),
            completion: ModelCompletion(finishReason: "length")
        )
        let registry = try makeRegistry([("m", provider, .clocks())])
        var events: [AnalyzeEvent] = []
        let elapsed = try await ContinuousClock().measure {
            events = try await collect(
                Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["m"]))
        }
        let stats = try #require(events.stats(of: "m"))
        #expect(stats.timeToFirstToken >= .milliseconds(80))
        #expect(stats.duration >= stats.timeToFirstToken + .milliseconds(160))
        #expect(stats.duration <= elapsed)
        #expect(stats.outputTokens == nil)
        #expect(stats.finishReason == "length")
        #expect(!stats.cached)
        // No token count reported: the rate is words per second after the first token.
        let generating = (stats.duration - stats.timeToFirstToken).seconds
        #expect(abs(stats.tokensPerSecond - 5 / generating) < 0.5)
        #expect(stats.tokensPerSecond > 0 && stats.tokensPerSecond < 5 / 0.16)
    }

    @Test("reported output tokens drive the rate")
    func tokenRate() async throws {
        let provider = ScriptedProvider(
            chunks: ["a", " b"], interval: .milliseconds(100),
            completion: ModelCompletion(finishReason: "stop", outputTokens: 50)
        )
        let registry = try makeRegistry([("m", provider, .clocks())])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["m"]))
        let stats = try #require(events.stats(of: "m"))
        let generating = (stats.duration - stats.timeToFirstToken).seconds
        #expect(abs(stats.tokensPerSecond - 50 / generating) < 0.5)
        #expect(stats.tokensPerSecond > 10 && stats.tokensPerSecond <= 500)
    }
}
