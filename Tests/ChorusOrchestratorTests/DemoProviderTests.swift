import ChorusCore
import ChorusOrchestrator
import ChorusTestSupport
import Synchronization
import Testing

@testable import ChorusProviders

@Suite("Demo provider", .timeLimit(.minutes(1)))
struct DemoProviderTests {
    /// Runs `provider` directly and returns its chunks and completion.
    func generate(
        _ provider: DemoProvider = DemoProvider(profile: .instant), model: String = "gemini", query: String,
        maxOutputTokens: Int? = nil
    ) async throws -> (chunks: [String], completion: ModelCompletion) {
        let chunks = Mutex<[String]>([])
        let output = ModelOutputWriter { text in chunks.withLock { $0.append(text) } }
        let completion = try await provider.generate(
            ModelPrompt(model: model, query: query, maxOutputTokens: maxOutputTokens), output: output)
        return (chunks.withLock { $0 }, completion)
    }

    @Test("the same model and query always give the same chunks")
    func deterministic() async throws {
        let first = try await generate(query: "What is the dog doing in this video?")
        let second = try await generate(query: "What is the dog doing in this video?")
        #expect(first.chunks == second.chunks)
        #expect(first.chunks.count > 1)
        // Built from scratch (a fresh provider and generator) with the same inputs: still the same.
        let fresh = try await generate(
            DemoProvider(profile: .instant, observer: DemoObserver()), query: "What is the dog doing in this video?")
        #expect(fresh.chunks == first.chunks)
    }

    @Test("a different query or a different model gives a different answer")
    func varies() async throws {
        let base = try await generate(query: "What is the dog doing in this video?").chunks.joined()
        let otherQuery = try await generate(query: "Where was this filmed?").chunks.joined()
        let otherModel = try await generate(model: "pegasus", query: "What is the dog doing in this video?").chunks
            .joined()
        #expect(base != otherQuery)
        #expect(base != otherModel)
    }

    @Test("answers are sentences of single-space-separated words, streamed with leading spaces")
    func shape() async throws {
        let (chunks, completion) = try await generate(
            DemoProvider(profile: DemoProfile(answerWords: 80...160)),
            query: "[demo:fast] How does the chef plate the dish?")
        let text = chunks.joined()
        let words = text.split(separator: " ")
        #expect((80...160).contains(words.count))
        #expect(!text.contains("  ") && !text.hasPrefix(" "))
        #expect(chunks.dropFirst().allSatisfy { $0.hasPrefix(" ") })
        #expect(text.first?.isUppercase == true && text.hasSuffix("."))
        #expect(text.filter { $0 == "." }.count >= 3, "expected several sentences: \(text)")
        #expect(completion.finishReason == "stop")
        // words × 1.3, rounded half up.
        #expect(completion.outputTokens == (words.count * 13 + 5) / 10)
    }

    @Test(
        "[demo:words=N] gives exactly N words and [demo:fast] changes timing, not text",
        arguments: [1, 2, 7, 13, 40, 99])
    func exactLength(words: Int) async throws {
        let slow = try await generate(
            DemoProvider(profile: DemoProfile(firstChunkDelay: .milliseconds(5), chunkInterval: .milliseconds(1))),
            query: "[demo:words=\(words)] Tell me about the chef")
        let fast = try await generate(
            DemoProvider(profile: DemoProfile(firstChunkDelay: .milliseconds(5), chunkInterval: .milliseconds(1))),
            query: "Tell me about the chef [demo:fast] [demo:words=\(words)]")
        #expect(slow.chunks.joined().split(separator: " ").count == words)
        #expect(slow.chunks == fast.chunks)
    }

    @Test("max_output_tokens cuts the answer short with finish reason length")
    func maxTokens() async throws {
        let (chunks, completion) = try await generate(query: "[demo:words=50] q", maxOutputTokens: 13)
        #expect(chunks.joined().split(separator: " ").count == 10)
        #expect(completion.finishReason == "length")
        #expect(completion.outputTokens == 13)
    }

    @Test("directives parse targets, positions and codes")
    func directives() throws {
        let parsed = try DemoDirectives(
            parsing:
                "Why? [demo:fail=gemini@3:resource_exhausted, gpt4o] [DEMO:Fast]  [demo:stall=*@0] [demo:cutoff=pegasus] end"
        )
        #expect(parsed.fast)
        #expect(parsed.failures["gemini"] == DemoDirectives.Trigger(afterChunks: 3, code: .resourceExhausted))
        #expect(parsed.failures["gpt4o"] == DemoDirectives.Trigger(afterChunks: nil, code: nil))
        #expect(parsed.stalls["*"] == DemoDirectives.Trigger(afterChunks: 0, code: nil))
        #expect(parsed.cutoffs["pegasus"] == DemoDirectives.Trigger(afterChunks: nil, code: nil))
        #expect(parsed.strippedQuery == "Why? end")
    }

    @Test(
        "malformed directives are rejected",
        arguments: [
            "[demo:slow]", "[demo:fail=]", "[demo:words=0]", "[demo:stall=gemini:unavailable]", "[demo:fail=gemini@x]",
            "[demo:fail=gemini:nope]", "[demo:fast",
        ]
    )
    func badDirective(query: String) async throws {
        #expect(throws: ChorusError.self) { try DemoDirectives(parsing: query) }
        let observer = DemoObserver()
        let error = await #expect(throws: ChorusError.self) {
            _ = try await generate(DemoProvider(profile: .instant, observer: observer), query: query)
        }
        #expect(error?.code == .invalidArgument)
        #expect(observer.counts.failed == 1)
    }

    @Test("fail and cut-off directives reach demo models through the orchestrator")
    func directivesEndToEnd() async throws {
        let observer = DemoObserver()
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(observer: observer), logger: silentLogger)
        let models = ["gemini", "gpt4o", "pegasus"]
        let events = try await collect(
            orchestrator,
            AnalyzeRequest(query: "[demo:fail=gemini] [demo:cutoff=gpt4o] [demo:fast] What happens?", models: models))
        #expect(events.shapeProblems(models: models) == [])
        #expect(events.error(of: "gemini")?.code == .internal)
        #expect(events.text(of: "gemini").isEmpty)
        let cutoff = try #require(events.error(of: "gpt4o"))
        #expect(cutoff.code == .unavailable)
        #expect(cutoff.message == "connection to upstream lost mid-answer")
        #expect(cutoff.retryable)
        #expect(!events.text(of: "gpt4o").isEmpty)
        #expect(events.complete?.succeeded == ["pegasus"])
        #expect(events.complete?.failed == ["gemini", "gpt4o"])
        let counts = observer.counts
        #expect(counts.started == 3 && counts.completed == 1 && counts.failed == 2 && counts.cancelled == 0)
    }

    @Test("a profile failure after N chunks uses the profile's error")
    func profileFailure() async throws {
        let profile = DemoProfile(
            firstChunkDelay: .zero, chunkInterval: .zero, answerWords: 20...20, wordsPerChunk: 2...2,
            failure: DemoProfile.Failure(afterChunks: 2, error: ChorusError(.permissionDenied, "key revoked"))
        )
        let registry = try makeRegistry([("m", DemoProvider(profile: profile), .clocks())])
        let events = try await collect(
            Orchestrator(registry: registry, logger: silentLogger), AnalyzeRequest(query: "q", models: ["m"]))
        #expect(events.filter { $0.eventType == "text_generation" }.count == 2)
        #expect(events.error(of: "m")?.code == .permissionDenied)
        #expect(events.error(of: "m")?.message == "key revoked")
    }

    @Test("a profile cut-off after N chunks fails with UNAVAILABLE")
    func profileCutoff() async throws {
        let profile = DemoProfile(
            firstChunkDelay: .zero, chunkInterval: .zero, answerWords: 20...20, wordsPerChunk: 1...1,
            cutoffAfterChunks: 5)
        let (error, chunks) = await {
            let chunks = Mutex(0)
            do {
                _ = try await DemoProvider(profile: profile).generate(
                    ModelPrompt(model: "m", query: "q"), output: ModelOutputWriter { _ in chunks.withLock { $0 += 1 } })
                return (nil as ChorusError?, chunks.withLock { $0 })
            } catch {
                return (error as? ChorusError, chunks.withLock { $0 })
            }
        }()
        #expect(error == ChorusError(.unavailable, DemoProvider.cutoffMessage))
        #expect(chunks == 5)
    }

    @Test("a stalled demo model hangs until cancelled and reports the cancellation")
    func stallObserved() async throws {
        let observer = DemoObserver()
        let provider = DemoProvider(
            profile: DemoProfile(firstChunkDelay: .zero, chunkInterval: .zero, stallAfterChunks: 1), observer: observer)
        let task = Task { try await generate(provider, query: "q") }
        #expect(await observer.wait(for: .started, count: 1, timeout: .seconds(5)))
        try await Task.sleep(for: .milliseconds(50))
        #expect(observer.counts.completed == 0 && observer.counts.cancelled == 0)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await value(of: task) }
        #expect(await observer.wait(for: .cancelled, count: 1, timeout: .seconds(5)))
    }

    @Test("the observer's wait times out when the condition never holds")
    func observerTimeout() async {
        let observer = DemoObserver()
        observer.record(.started)
        #expect(await observer.wait(for: .started, count: 1, timeout: .seconds(1)))
        #expect(await observer.wait(for: .completed, count: 1, timeout: .milliseconds(50)) == false)
    }
}
