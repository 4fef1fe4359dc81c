public import ChorusCore

/// When an upstream request is tried again: only retryable failures (429, 5xx, connection errors,
/// timeouts), only before the model has written any text (a retry after that would repeat it),
/// and only while the upstream's own requested delay is reasonable.
///
/// The delay is the upstream's hint (`retry-after-ms`, `retry-after`, Gemini's `RetryInfo`) when it
/// gave one, else exponential back-off from ``initialBackoff`` doubling up to ``maxBackoff``, minus
/// up to 25 % jitter so that many callers do not retry in lock step (the OpenAI SDK's rule).
///
/// ```swift
/// let policy = RetryPolicy(maxAttempts: 3)
/// if let wait = policy.delay(afterAttempt: 1, error: error) { try await Task.sleep(for: wait) }
/// ```
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in total, the first included; 1 disables retries.
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// An upstream asking for a longer wait than this is not retried; its error is reported instead.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 3, initialBackoff: Duration = .milliseconds(500), maxBackoff: Duration = .seconds(8),
        maxRetryAfter: Duration = .seconds(30)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `attempt + 1`, or nil when `error` must be reported now.
    ///
    /// - Parameter attempt: the attempt that just failed, counting from 1.
    public func delay(afterAttempt attempt: Int, error: ChorusError) -> Duration? {
        guard error.retryable, attempt < maxAttempts, error.code != .cancelled else { return nil }
        if let hinted = error.retryAfter {
            return hinted <= maxRetryAfter ? hinted : nil
        }
        var backoff = initialBackoff
        for _ in 1..<attempt where backoff < maxBackoff { backoff *= 2 }
        backoff = min(backoff, maxBackoff)
        return backoff * Double.random(in: 0.75...1.0)
    }
}
