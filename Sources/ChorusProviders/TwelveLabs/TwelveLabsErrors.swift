import ChorusCore
import ChorusCurl
import Foundation

/// TwelveLabs-specific refinements of ``UpstreamErrors``: a 404 names the missing video instead of
/// the model, and a 429 gets a retry delay from the places TwelveLabs actually puts one.
///
/// TwelveLabs documents no `Retry-After` header (``UpstreamErrors`` still honours one if it comes).
/// Its `too_many_requests` message ends with "Please try again later after {retry_after}" (an
/// ISO-8601 time on the fake and in public captures), and v1.2 documented `X-Ratelimit-Reset`
/// (UTC epoch seconds). Without a delay the retry policy would back off for half a second into a
/// limit that resets in a minute, so both are read.
enum TwelveLabsErrors {
    /// The error for a non-2xx answer.
    ///
    /// - Parameter missing: what a `resource_not_exist` 404 means for this call, e.g.
    ///   `"TwelveLabs has no video 'v1'"`; the upstream's own message follows it.
    static func http(
        _ settings: UpstreamSettings, status: Int, head: HTTPResponseHead?, body: [UInt8], missing: String,
        now: Date = Date()
    ) -> ChorusError {
        var error = UpstreamErrors.http(settings, status: status, head: head, body: body)
        let details = ErrorDetails(json: try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]))
        switch error.code {
        case .notFound:
            error.message = notFoundMessage(settings, status: status, details: details, body: body, missing: missing)
        case .resourceExhausted where error.retryable && error.retryAfter == nil:
            error.retryAfter = retryDelay(message: details.message, head: head, now: now)
        default:
            break
        }
        return error
    }

    /// A 404 is about the video (`resource_not_exist`) far more often than about the model, which
    /// is what the generic message guesses; any other 404 most likely means a wrong base URL.
    private static func notFoundMessage(
        _ settings: UpstreamSettings, status: Int, details: ErrorDetails, body: [UInt8], missing: String
    ) -> String {
        var upstream = details.message ?? (body.isEmpty ? "" : UpstreamErrors.snippet(body))
        if let key = settings.apiKey { upstream = key.redact(upstream) }
        if upstream.count > 300 { upstream = String(upstream.prefix(300)) + "…" }
        let label = details.label.map { " \($0)" } ?? ""
        let quoted = upstream.isEmpty ? "" : ": \(upstream)"
        if details.label == "resource_not_exist" {
            return "\(missing) (HTTP \(status)\(label)\(quoted))"
        }
        return "TwelveLabs answered HTTP \(status)\(label)\(quoted) (is the base URL \(settings.baseURL) right?)"
    }

    // MARK: Retry delay

    /// The wait a 429 asks for: the time in the message, else `X-Ratelimit-Reset`; nil when
    /// neither is there or the moment has already passed (the retry policy's back-off applies).
    static func retryDelay(message: String?, head: HTTPResponseHead?, now: Date) -> Duration? {
        if let message, let delay = delay(fromMessage: message, now: now) { return delay }
        if let reset = head?.header("x-ratelimit-reset").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
            // Epoch seconds as documented; a small number can only be "seconds from now".
            let seconds = reset > 1_000_000_000 ? reset - now.timeIntervalSince1970 : reset
            return positive(seconds)
        }
        return nil
    }

    /// Reads what follows the last "after " in `message`: an ISO-8601 time, or a number of
    /// seconds (`30`, `30s`, `30 seconds`).
    static func delay(fromMessage message: String, now: Date) -> Duration? {
        guard let range = message.range(of: "after ", options: [.backwards, .caseInsensitive]) else { return nil }
        let words = message[range.upperBound...].split(separator: " ", omittingEmptySubsequences: true)
        guard let first = words.first else { return nil }
        // The template ends its sentence right after the value.
        var token = String(first)
        while let last = token.last, ".,;)".contains(last) { token.removeLast() }
        if let date = parseISO8601(token) {
            return positive(date.timeIntervalSince(now))
        }
        if token.hasSuffix("s"), let seconds = Double(token.dropLast()) { return positive(seconds) }
        if let seconds = Double(token) { return positive(seconds) }
        return nil
    }

    private static func parseISO8601(_ text: String) -> Date? {
        guard text.contains("T") else { return nil }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    private static func positive(_ seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds > 0 else { return nil }
        return .milliseconds((seconds * 1000).rounded(.up))
    }
}
