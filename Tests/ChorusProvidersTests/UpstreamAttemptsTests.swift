import ChorusCore
import Synchronization
import Testing

@testable import ChorusProviders

@Suite("Retries, limits and keys")
struct UpstreamAttemptsTests {
    let fast = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(4))

    @Test func retriesRetryableFailuresBeforeAnyText() async throws {
        let attempts = Atomic<Int>(0)
        let written = Mutex<[String]>([])
        let output = ModelOutputWriter { text in written.withLock { $0.append(text) } }
        let completion = try await UpstreamAttempts.run(retry: fast, limiter: nil, output: output) { output, number in
            attempts.add(1, ordering: .relaxed)
            if number < 3 { throw ChorusError(.unavailable, "down") }
            try await output.write("hello")
            return ModelCompletion(finishReason: "stop")
        }
        #expect(completion.finishReason == "stop")
        #expect(attempts.load(ordering: .relaxed) == 3)
        #expect(written.withLock { $0 } == ["hello"])
    }

    @Test func neverRetriesAfterTextWasWritten() async {
        let attempts = Atomic<Int>(0)
        let output = ModelOutputWriter { _ in }
        await #expect(throws: ChorusError.self) {
            _ = try await UpstreamAttempts.run(retry: fast, limiter: nil, output: output) { output, _ in
                attempts.add(1, ordering: .relaxed)
                try await output.write("partial")
                throw ChorusError(.unavailable, "cut")
            }
        }
        #expect(attempts.load(ordering: .relaxed) == 1)
    }

    @Test func doesNotRetryClientErrorsOrLongRetryAfter() async {
        for error in [
            ChorusError(.invalidArgument, "bad"), ChorusError(.unauthenticated, "key"),
            ChorusError(.resourceExhausted, "slow down", retryable: true, retryAfter: .seconds(120)),
        ] {
            let attempts = Atomic<Int>(0)
            await #expect(throws: ChorusError.self) {
                _ = try await UpstreamAttempts.run(retry: fast, limiter: nil, output: ModelOutputWriter { _ in }) { _, _ in
                    attempts.add(1, ordering: .relaxed)
                    throw error
                }
            }
            #expect(attempts.load(ordering: .relaxed) == 1, "\(error)")
        }
    }

    @Test func backoffGrowsAndIsCapped() {
        let policy = RetryPolicy(maxAttempts: 10, initialBackoff: .milliseconds(500), maxBackoff: .seconds(8))
        let error = ChorusError(.unavailable, "down")
        for (attempt, nominal) in [(1, 500), (2, 1000), (3, 2000), (4, 4000), (5, 8000), (8, 8000)] {
            let delay = policy.delay(afterAttempt: attempt, error: error)!
            #expect(delay <= .milliseconds(nominal) && delay >= .milliseconds(nominal) * 0.75, "attempt \(attempt): \(delay)")
        }
        #expect(policy.delay(afterAttempt: 10, error: error) == nil)
        #expect(policy.delay(afterAttempt: 1, error: ChorusError(.unavailable, "x", retryAfter: .seconds(3))) == .seconds(3))
    }

    @Test func limiterHoldsAtMostItsLimit() async throws {
        final class Gauge: Sendable {
            let inside = Atomic<Int>(0)
            let peak = Atomic<Int>(0)
        }
        let limiter = ConcurrencyLimiter(limit: 2)
        let gauge = Gauge()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await limiter.withPermit {
                        let now = gauge.inside.add(1, ordering: .relaxed).newValue
                        _ = gauge.peak.max(now, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(5))
                        gauge.inside.subtract(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(gauge.peak.load(ordering: .relaxed) == 2)
        #expect(limiter.available == 2)
    }

    @Test func aWaitingWrapperThatFailsAfterThePermitDoesNotKeepIt() async throws {
        struct Refused: Error {}
        let limiter = ConcurrencyLimiter(limit: 1)
        await #expect(throws: Refused.self) {
            _ = try await limiter.withPermit(waiting: { acquire in
                try await acquire()
                throw Refused()
            }) { "never" }
        }
        #expect(limiter.available == 1)
        #expect(try await limiter.withPermit(waiting: { try await $0() }) { "ran" } == "ran")
        #expect(limiter.available == 1)
    }

    @Test func cancelledWaiterLeavesTheQueue() async throws {
        let limiter = ConcurrencyLimiter(limit: 1)
        let release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await limiter.withPermit {
                for await _ in release.stream { break }
            }
        }
        while limiter.available != 0 { await Task.yield() }
        let waiter = Task { try await limiter.withPermit { "ran" } }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        release.continuation.yield()
        try await holder.value
        #expect(limiter.available == 1)
        #expect(try await limiter.withPermit { "again" } == "again")
    }

    @Test func keysLoadFromEnvironmentOrFileAndNeverPrint() throws {
        let key = try #require(try APIKey.load(variable: "K", file: nil, environment: ["K": " sk-abc-123 \n"]))
        #expect(key.headerValue == "sk-abc-123")
        #expect("\(key)" == "<redacted key from K>")
        #expect(!String(reflecting: key).contains("sk-abc"))
        #expect(try APIKey.load(variable: "K", file: nil, environment: [:]) == nil)
        #expect(try APIKey.load(variable: "K", file: nil, environment: ["K": ""]) == nil)
        #expect(throws: ChorusError.self) { try APIKey.load(variable: nil, file: "/nonexistent/key", environment: [:]) }
        #expect(key.redact("bad key sk-abc-123 given") == "bad key <redacted> given")
    }

    @Test func settingsJoinURLs() {
        let settings = UpstreamSettings(
            provider: .gemini, baseURL: "http://127.0.0.1:9/v1beta/", upstreamModel: "m", apiKey: nil, keyVariable: "GEMINI_API_KEY")
        #expect(settings.url("/models/m:streamGenerateContent") == "http://127.0.0.1:9/v1beta/models/m:streamGenerateContent")
        #expect(settings.url("files/a") == "http://127.0.0.1:9/v1beta/files/a")
        #expect(settings.origin == "http://127.0.0.1:9")
        #expect(throws: ChorusError.self) { try settings.requireKey() }
        do {
            _ = try settings.requireKey()
        } catch {
            #expect(error.code == .unauthenticated)
            #expect(error.message.contains("GEMINI_API_KEY"))
        }
    }
}
