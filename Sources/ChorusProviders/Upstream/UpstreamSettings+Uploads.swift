import ChorusCore
import ChorusCurl
import Foundation
import Logging

/// What the adapters' requests besides the stream share (Gemini's Files API, TwelveLabs assets
/// and video lookups): retries per the model's policy, waiting for processing, transfer timeouts
/// by size, sizes in messages.
extension UpstreamSettings {
    /// Runs one request that is not a model's stream (an upload step, a poll, a video lookup),
    /// retrying it when it fails in a retryable way (429, 5xx, connection errors) per the model's
    /// ``RetryPolicy``. A stream's attempts go through ``UpstreamAttempts`` instead, which also
    /// knows whether text was already written.
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

    /// Polls an uploaded file until the provider has processed it: `poll` fetches the next answer
    /// every `interval` (retried per the model's policy), for at most `maxWait`. Returns the ready
    /// answer and the number of polls; a file the provider could not process is
    /// `FAILED_PRECONDITION` with its reason, one still processing after `maxWait` is
    /// `DEADLINE_EXCEEDED`, both naming `video` and the upload.
    func waitForProcessing<Upload: ProviderUpload>(
        _ uploaded: Upload, video: String, interval: Duration, maxWait: Duration, step: String, logger: Logger,
        poll: (Upload) async throws -> Upload
    ) async throws -> (Upload, polls: Int) {
        let clock = ContinuousClock()
        let deadline = clock.now + maxWait
        var answer = uploaded
        var polls = 0
        while true {
            switch answer.processing {
            case .ready:
                return (answer, polls)
            case .failed:
                let reason = answer.failureReason.map { ": \($0)" } ?? ""
                throw ChorusError(
                    .failedPrecondition, "\(provider.displayName) could not process the video '\(video)' (\(answer.uploadLabel))\(reason)",
                    retryable: false)
            case .processing:
                let remaining = deadline - clock.now
                guard remaining > .zero else {
                    throw ChorusError(
                        .deadlineExceeded,
                        "\(provider.displayName) was still processing the video '\(video)' (\(answer.uploadLabel)) after \(maxWait)")
                }
                try await Task.sleep(for: min(interval, remaining))
                polls += 1
                let previous = answer
                answer = try await retrying(step, logger: logger) { try await poll(previous) }
            }
        }
    }

    /// Deletes an upload this process made with the `DELETE` request `request` builds, retried per
    /// the model's policy. True when the upload is gone: deleted now (2xx) or already (one of
    /// `goneStatuses`). A failure is logged, not thrown: nobody is waiting for it.
    ///
    /// - Parameter failure: the error for any other status (the provider's own mapping).
    func deleteUpload(
        _ what: String, goneStatuses: Set<Int>, logger: Logger,
        request: (APIKey) -> HTTPRequestSpec,
        failure: @escaping (_ status: Int, _ head: HTTPResponseHead, _ body: [UInt8]) -> ChorusError
    ) async -> Bool {
        let metadata: Logger.Metadata = ["upload": "\(what)", "upstream": "\(baseURL)"]
        do {
            let request = request(try requireKey())
            try await retrying("\(provider.displayName) upload delete", logger: logger) {
                let response = try await http.execute(request)
                let answer = try await response.collectBody(limit: 1 << 16)
                let status = response.head.status
                guard (200..<300).contains(status) || goneStatuses.contains(status) else {
                    throw failure(status, response.head, answer)
                }
            }
            logger.debug("upload deleted", metadata: metadata)
            return true
        } catch {
            var metadata = metadata
            metadata["error"] = "\(ChorusError(from: error))"
            logger.warning("could not delete an upload", metadata: metadata)
            return false
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

/// A file uploaded to a provider that processes it before prompts may use it (a Gemini file, a
/// TwelveLabs asset).
protocol ProviderUpload: Sendable {
    var processing: UploadProcessing { get }
    /// How messages name the upload: `files/abc`, `asset 6659…`.
    var uploadLabel: String { get }
    /// Why the provider could not process it, when it said.
    var failureReason: String? { get }
}
