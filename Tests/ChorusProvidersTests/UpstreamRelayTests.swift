import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Testing

/// The two ways a provider relays its upstream body (`UpstreamRelay`): parsed on curl's thread and
/// written without waiting, pausing whenever the consumer is behind, or iterated by the task and
/// written with `write`. Every provider, over the fake upstream, must write the same chunks and
/// end the same way on both, whatever the body's shape or failure.
@Suite("Upstream relay: written without waiting or iterated", .timeLimit(.minutes(2)))
struct UpstreamRelayTests {
    /// Misbehaviours every fake provider understands.
    static let behaviours = [
        "tag=plain", "split=random;seed=3", "split=utf8", "split=1;gap=0", "coalesce=all", "cut_after=3",
        "no_end", "error_after=2",
    ]

    /// The chunks of one run, and how it ended (the error's code and message, or the completion).
    private struct Run: Equatable, CustomStringConvertible {
        var chunks: [String]
        var outcome: String
        var description: String { "\(chunks.count) chunks, \(outcome)" }
    }

    private enum Provider: String, CaseIterable {
        case openAI, gemini, twelveLabs
    }

    private static func run(_ provider: Provider, _ fake: FakeUpstream, behaviour: String, collector: TextCollector) async -> Run {
        let query = "q [fake:\(behaviour)]"
        let result: Result<ModelCompletion, ChorusError>
        switch provider {
        case .openAI:
            // No retries: a cut before the text would otherwise be retried, in both modes alike.
            let settings = OpenAITesting.settings(fake, retry: RetryPolicy(maxAttempts: 1))
            result = await OpenAITesting.run(OpenAITesting.provider(settings), query: query, collector: collector).result
        case .gemini:
            let gemini = GeminiTesting.provider(fake, retry: RetryPolicy(maxAttempts: 1))
            result = await GeminiTesting.run(gemini, query: query, collector: collector).result
        case .twelveLabs:
            var settings = TwelveLabsTesting.settings(fake)
            settings.retry = RetryPolicy(maxAttempts: 1)
            result = await TwelveLabsTesting.run(TwelveLabsTesting.provider(settings), query: query, collector: collector).result
        }
        let outcome = switch result {
        case .success(let completion): "\(completion.finishReason), \(completion.outputTokens.map(String.init) ?? "-") tokens"
        case .failure(let error): "\(error.code.name): \(error.message)"
        }
        return Run(chunks: collector.chunks, outcome: outcome)
    }

    @Test("every provider writes the same chunks and ends the same way either way", arguments: behaviours)
    func sameOutcome(behaviour: String) async throws {
        for provider in Provider.allCases {
            let fake = try await FakeUpstream.start()
            defer { fake.stop() }
            let iterated = await Self.run(provider, fake, behaviour: behaviour, collector: TextCollector(mode: .waiting))
            #expect(!iterated.chunks.isEmpty || behaviour.hasPrefix("cut") || behaviour.hasPrefix("error"), "\(provider)")
            for every in [1, 2, 1000] {
                let collector = TextCollector(mode: .withoutWaiting(behindEvery: every))
                let driven = await Self.run(provider, fake, behaviour: behaviour, collector: collector)
                #expect(driven == iterated, "\(provider), behind every \(every)")
                // The chunks really went the driven way.
                #expect(collector.immediateWrites == driven.chunks.count, "\(provider), behind every \(every)")
            }
        }
    }
}
