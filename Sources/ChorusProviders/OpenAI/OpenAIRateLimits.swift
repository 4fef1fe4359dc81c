import ChorusCore
import ChorusCurl
import Foundation

/// OpenAI's retry signals beyond what ``UpstreamErrors`` reads from every provider.
///
/// - A 429 without `retry-after`/`retry-after-ms` still says when the limit resets, in
///   `x-ratelimit-reset-requests` and `x-ratelimit-reset-tokens` (Go durations such as `6m0s`).
///   Waiting for the limit that was hit beats blind exponential back-off: retrying sooner fails
///   again, and a reset too far away (beyond ``RetryPolicy/maxRetryAfter``) is reported at once.
/// - `x-should-retry: true|false` overrides whether the status is retryable (the SDK's rule).
enum OpenAIRateLimits {
    /// `error` (made by ``UpstreamErrors/http(_:status:head:body:)``) with OpenAI's headers applied.
    static func adjust(_ error: ChorusError, status: Int, head: HTTPResponseHead, body: [UInt8]) -> ChorusError {
        var error = error
        if status == 429, error.retryable, error.retryAfter == nil {
            error.retryAfter = resetDelay(head: head, limitType: limitType(body: body))
        }
        switch head.header("x-should-retry")?.lowercased() {
        case "false":
            error.retryable = false
            error.retryAfter = nil
        case "true":
            error.retryable = true
        default:
            break
        }
        return error
    }

    /// The wait until the limit that caused a 429 resets, from the `x-ratelimit-*` headers.
    ///
    /// - Parameter limitType: `requests` or `tokens` when the error body said which limit was hit.
    ///   Without it, a limit whose `x-ratelimit-remaining-*` is 0 is the one that was hit (when both
    ///   are spent, the later reset, since both must reset); when nothing tells, the smaller reset,
    ///   a cheap optimistic guess bounded by the retry policy's attempt count.
    static func resetDelay(head: HTTPResponseHead, limitType: String?) -> Duration? {
        func limit(_ name: String) -> (remaining: Int?, reset: Duration)? {
            guard let text = head.header("x-ratelimit-reset-\(name)"), let reset = GoDuration.parse(text),
                reset > .zero
            else { return nil }
            return (head.header("x-ratelimit-remaining-\(name)").flatMap { Int($0) }, reset)
        }
        let limits = ["requests": limit("requests"), "tokens": limit("tokens")].compactMapValues { $0 }
        if let limitType, let named = limits[limitType] { return named.reset }
        let spent = limits.values.filter { $0.remaining == 0 }.map(\.reset)
        if !spent.isEmpty { return spent.max() }
        return limits.values.map(\.reset).min()
    }

    /// `requests` or `tokens` from an OpenAI 429 body: `error.type`, else the message's wording
    /// ("… on tokens per min (TPM) …").
    static func limitType(body: [UInt8]) -> String? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let error = json["error"] as? [String: Any]
        else { return nil }
        if let type = error["type"] as? String, type == "requests" || type == "tokens" { return type }
        let message = (error["message"] as? String) ?? ""
        if message.contains(" on requests per") { return "requests" }
        if message.contains(" on tokens per") { return "tokens" }
        return nil
    }
}
