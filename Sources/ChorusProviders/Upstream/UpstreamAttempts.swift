public import ChorusCore
import Synchronization

/// Runs one model's upstream request under its concurrency limit and retry policy.
///
/// The attempt gets a writer that records whether any text went out; once it has, a failure is
/// reported as is (retrying would repeat the text the client already has).
///
/// ```swift
/// return try await UpstreamAttempts.run(settings: settings, output: output) { output, attempt in
///     try await streamOnce(prompt, output: output)
/// }
/// ```
public enum UpstreamAttempts {
    public static func run(
        retry: RetryPolicy, limiter: ConcurrencyLimiter?, output: ModelOutputWriter,
        _ attempt: (ModelOutputWriter, Int) async throws -> ModelCompletion
    ) async throws -> ModelCompletion {
        if let limiter {
            // Queued behind the model's `max_concurrent`: Chorus is waiting, not the model, so the
            // first-chunk clock stops meanwhile (the total clock does not).
            return try await limiter.withPermit(waiting: { try await output.preparing($0) }) {
                try await loop(retry: retry, output: output, attempt)
            }
        }
        return try await loop(retry: retry, output: output, attempt)
    }

    private static func loop(
        retry: RetryPolicy, output: ModelOutputWriter,
        _ attempt: (ModelOutputWriter, Int) async throws -> ModelCompletion
    ) async throws -> ModelCompletion {
        let wrote = Atomic<Bool>(false)
        let tracking = output.forwarding { text in
            wrote.store(true, ordering: .relaxed)
            try await output.write(text)
        }
        var number = 1
        while true {
            do {
                return try await attempt(tracking, number)
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                let failure = ChorusError(from: error)
                guard !wrote.load(ordering: .relaxed),
                    let wait = retry.delay(afterAttempt: number, error: failure)
                else { throw failure }
                try await Task.sleep(for: wait)
                number += 1
            }
        }
    }
}
