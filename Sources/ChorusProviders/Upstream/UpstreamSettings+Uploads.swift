import ChorusCore
import Foundation
import Logging

/// What the upload steps of the adapters share (Gemini's Files API, TwelveLabs assets): retries
/// per the model's policy, transfer timeouts by size, sizes in messages.
extension UpstreamSettings {
    /// Runs one step of an upload (start, send, poll), retrying it when it fails in a retryable
    /// way (429, 5xx, connection errors) per the model's ``RetryPolicy``. A stream's attempts go
    /// through ``UpstreamAttempts`` instead, which also knows whether text was already written.
    func retrying<T: Sendable>(_ step: String, logger: Logger, _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch {
                if error is CancellationError || Task.isCancelled { throw error }
                let failure = ChorusError(from: error)
                guard let wait = retry.delay(afterAttempt: attempt, error: failure) else { throw failure }
                logger.debug("\(step) failed; retrying", metadata: ["error": "\(failure)", "attempt": "\(attempt)"])
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }

    /// Polls an uploaded file until the provider has processed it: `state` reads where an answer
    /// stands, `poll` fetches the next one every `interval` (retried per the model's policy), for
    /// at most `maxWait`. Returns the ready answer and the number of polls; throws `failed(answer)`
    /// for a file the provider could not process and `timedOut()` after `maxWait`.
    func waitForProcessing<T: Sendable>(
        _ uploaded: T, interval: Duration, maxWait: Duration, step: String, logger: Logger,
        state: (T) -> UploadProcessing, failed: (T) -> ChorusError, timedOut: () -> ChorusError,
        poll: (T) async throws -> T
    ) async throws -> (T, polls: Int) {
        let clock = ContinuousClock()
        let deadline = clock.now + maxWait
        var answer = uploaded
        var polls = 0
        while true {
            switch state(answer) {
            case .ready:
                return (answer, polls)
            case .failed:
                throw failed(answer)
            case .processing:
                let remaining = deadline - clock.now
                guard remaining > .zero else { throw timedOut() }
                try await Task.sleep(for: min(interval, remaining))
                polls += 1
                let previous = answer
                answer = try await retrying(step, logger: logger) { try await poll(previous) }
            }
        }
    }

    /// Time allowed to send `bytes` of a file: a minute plus a second per 256 KiB (about 2 Mbit/s).
    static func transferTimeout(bytes: Int) -> Duration {
        .seconds(60 + bytes / (256 << 10))
    }

    /// `bytes` for a message: "5000 bytes", "12.3 MiB", "240 MiB".
    static func mebibytes(_ bytes: Int) -> String {
        guard bytes >= 1 << 20 else { return "\(bytes) bytes" }
        let value = Double(bytes) / Double(1 << 20)
        return value >= 10 ? "\(Int(value.rounded())) MiB" : String(format: "%.1f MiB", value)
    }
}

/// Where an uploaded file stands at the provider (see ``UpstreamSettings/waitForProcessing``).
enum UploadProcessing {
    case processing, ready, failed
}
