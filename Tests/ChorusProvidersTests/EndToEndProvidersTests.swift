import ChorusCore
import ChorusOrchestrator
import ChorusTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import ChorusProviders

/// The whole path a call takes in `chorusd`: the built-in registry switched to the real adapters by
/// environment variables, the orchestrator fanning out, libcurl, and the fake upstream.
@Suite("Real adapters through the orchestrator", .timeLimit(.minutes(1)))
struct EndToEndProvidersTests {
    static func environment(_ fake: FakeUpstream) -> [String: String] {
        [
            "OPENAI_API_KEY": "sk-e2e", "OPENAI_BASE_URL": fake.openAIBaseURL,
            "GEMINI_API_KEY": "g-e2e", "GEMINI_BASE_URL": fake.geminiBaseURL,
            "TWELVELABS_API_KEY": "t-e2e", "TWELVELABS_BASE_URL": fake.twelveLabsBaseURL,
        ]
    }

    static func orchestrator(_ fake: FakeUpstream) throws -> Orchestrator {
        let context = ProviderContext(environment: environment(fake), logger: Logger(label: "e2e"))
        return Orchestrator(registry: try BuiltInRegistry.make(context: context), logger: Logger(label: "e2e"))
    }

    static func text(of model: String, in events: [AnalyzeEvent]) -> String {
        events.compactMap { event -> String? in
            if case .textGeneration(let chunk) = event.payload, chunk.model == model { return chunk.text }
            return nil
        }.joined()
    }

    @Test("one failing upstream never stops the others; each model's text arrives whole and tagged")
    func failureIsolation() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let sink = CollectingSink()
        // Gemini answers 503 every time (retried, then reported); GPT-4o streams split inside UTF-8
        // characters; Pegasus has no video_id to work with.
        let request = AnalyzeRequest(
            query: "What is this? [fake:gemini.status=503;openai.split=utf8;tag=e2e]", models: ["gemini", "gpt4o", "pegasus"])
        try await Self.orchestrator(fake).analyze(request, context: CallContext(), sink: sink)
        let events = sink.events

        #expect(events.first?.eventType == "start")
        #expect(events.last?.eventType == "complete")
        let starts = events.compactMap { event -> ModelStart? in
            if case .modelStart(let start) = event.payload { return start }
            return nil
        }
        #expect(Set(starts.map(\.provider)) == ["gemini", "openai", "twelvelabs"])
        let errors = Dictionary(
            uniqueKeysWithValues: events.compactMap { event -> (String, ModelError)? in
                if case .error(let error) = event.payload { return (error.model, error) }
                return nil
            })
        #expect(errors["gemini"]?.code == .unavailable)
        #expect(errors["gemini"]?.retryable == true)
        #expect(errors["pegasus"]?.code == .failedPrecondition)
        #expect(errors["gpt4o"] == nil)
        #expect(Self.text(of: "gpt4o", in: events) == OpenAITesting.defaultText)
        guard case .complete(let complete)? = events.last?.payload else { return }
        #expect(complete.succeeded == ["gpt4o"])
        #expect(Set(complete.failed) == ["gemini", "pegasus"])
        // Every retry of Gemini reached the fake: the default policy makes 3 attempts.
        let geminiRequests = try await fake.requests(tag: "e2e").filter { ($0["provider"] as? String) == "gemini" }
        #expect(geminiRequests.count == 3)
        // Sequence numbers are contiguous: nothing lost or duplicated across the three streams.
        #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
    }

    @Test("cancelling a call hangs up on every stalled upstream")
    func cancellationReachesTheUpstream() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let orchestrator = try Self.orchestrator(fake)
        let sink = CollectingSink()
        let request = AnalyzeRequest(
            query: "Wait [fake:stall_after=1;tag=stall]", models: ["gemini", "gpt4o", "pegasus"],
            video: VideoReference(videoID: "v1"))
        let call = Task { try await orchestrator.analyze(request, context: CallContext(), sink: sink) }
        // Pegasus has its video_id; GPT-4o and Gemini cannot fetch it without index_id and fail at
        // once, so wait for the TwelveLabs request to be stalled at the fake.
        var stalled = false
        for _ in 0..<500 where !stalled {
            stalled = try await !fake.requests(tag: "stall").filter { ($0["provider"] as? String) == "twelvelabs" }.isEmpty
            if !stalled { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(stalled)
        call.cancel()
        _ = await call.result
        var gone = false
        for _ in 0..<300 where !gone {
            gone = try await fake.requests(tag: "stall").contains { $0["client_gone"] as? Bool == true }
            if !gone { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(gone, "the fake never saw the client hang up")
    }
}
