public import ChorusCore
public import ChorusCurl
import Foundation

/// Turns what an upstream API answered into a ``ChorusCore/ChorusError`` with the right status code.
///
/// | Upstream | Chorus |
/// | --- | --- |
/// | 429 | `RESOURCE_EXHAUSTED`, retryable (not for an exhausted quota), with the upstream's delay |
/// | 401 | `UNAUTHENTICATED`, with a hint naming the key variable |
/// | 403 | `PERMISSION_DENIED`, with the same hint |
/// | 400 | `INVALID_ARGUMENT` (Gemini's `API_KEY_INVALID` → `UNAUTHENTICATED`; `FAILED_PRECONDITION` kept) |
/// | 404 | `NOT_FOUND` |
/// | 408 / 504 | `DEADLINE_EXCEEDED`, retryable |
/// | 409 | `ABORTED`, retryable |
/// | other 5xx, connection errors | `UNAVAILABLE`, retryable |
/// | malformed stream | `INTERNAL`, with a short snippet of what arrived |
///
/// Messages quote the upstream's own message (truncated), never the key.
public enum UpstreamErrors {
    /// The error for a non-2xx response with body `body`.
    public static func http(
        _ settings: UpstreamSettings, status: Int, head: HTTPResponseHead?, body: [UInt8]
    ) -> ChorusError {
        let details = ErrorDetails(json: try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]))
        let fallback = body.isEmpty ? "" : snippet(body)
        return make(settings, status: status, details: details, fallbackMessage: fallback, head: head)
    }

    /// The error for an error object that arrived inside a 200 stream (`{"error": {...}}`).
    public static func inStream(_ settings: UpstreamSettings, errorObject: Any) -> ChorusError {
        let details = ErrorDetails(json: errorObject)
        let status = details.httpCode ?? details.statusName.flatMap(httpStatus(forGoogleStatus:)) ?? 500
        return make(
            settings, status: status, details: details, fallbackMessage: "error inside the stream", head: nil,
            prefix: "\(settings.provider.displayName) reported an error mid-stream")
    }

    /// `INTERNAL`: the upstream sent something that is not its documented stream format.
    public static func malformed(_ settings: UpstreamSettings, _ what: String, got bytes: some Collection<UInt8>) -> ChorusError {
        let text = settings.apiKey?.redact(snippet(bytes)) ?? snippet(bytes)
        return ChorusError(.internal, "\(settings.provider.displayName) sent a malformed stream: \(what); got '\(text)'", retryable: false)
    }

    /// `UNAVAILABLE`: the stream ended before the upstream said it was complete.
    public static func truncated(_ settings: UpstreamSettings, partial: some Collection<UInt8>) -> ChorusError {
        var message = "\(settings.provider.displayName) closed the stream before the answer was complete"
        if !partial.isEmpty { message += " (cut inside an event: '\(snippet(partial))')" }
        return ChorusError(.unavailable, message, retryable: true)
    }

    /// The first `limit` characters of `bytes` as text, with control characters escaped.
    public static func snippet(_ bytes: some Collection<UInt8>, limit: Int = 120) -> String {
        let text = String(decoding: bytes.prefix(limit * 4), as: UTF8.self)
        var out = ""
        for character in text.prefix(limit) {
            switch character {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.append(character)
            }
        }
        return text.count > limit ? out + "…" : out
    }

    // MARK: Mapping

    private static func make(
        _ settings: UpstreamSettings, status: Int, details: ErrorDetails, fallbackMessage: String, head: HTTPResponseHead?,
        prefix: String? = nil
    ) -> ChorusError {
        let name = settings.provider.displayName
        var upstreamMessage = details.message ?? fallbackMessage
        if let key = settings.apiKey { upstreamMessage = key.redact(upstreamMessage) }
        if upstreamMessage.count > 300 { upstreamMessage = String(upstreamMessage.prefix(300)) + "…" }
        let label = details.label.map { " \($0)" } ?? ""
        var message = prefix.map { "\($0)\(label.isEmpty ? "" : " (\(label.dropFirst()))")" } ?? "\(name) answered HTTP \(status)\(label)"
        if !upstreamMessage.isEmpty { message += ": \(upstreamMessage)" }
        let keyHint = settings.keyVariable.map { " (check \($0))" } ?? " (check the configured API key)"

        let retryAfter = retryDelay(head: head, details: details)
        switch status {
        case 429:
            let quota = details.label?.contains("insufficient_quota") == true
            return ChorusError(.resourceExhausted, message, retryable: !quota, retryAfter: quota ? nil : retryAfter)
        case 401:
            return ChorusError(.unauthenticated, message + keyHint)
        case 403:
            return ChorusError(.permissionDenied, message + keyHint)
        case 400 where details.reasons.contains("API_KEY_INVALID"):
            return ChorusError(.unauthenticated, message + keyHint)
        case 400 where details.statusName == "FAILED_PRECONDITION":
            return ChorusError(.failedPrecondition, message)
        case 400, 413, 422:
            return ChorusError(.invalidArgument, message)
        case 404:
            return ChorusError(.notFound, message + " (is upstream model '\(settings.upstreamModel)' right?)")
        case 408, 504:
            return ChorusError(.deadlineExceeded, message, retryable: true, retryAfter: retryAfter)
        case 409:
            return ChorusError(.aborted, message, retryable: true, retryAfter: retryAfter)
        case 500...599:
            return ChorusError(.unavailable, message, retryable: true, retryAfter: retryAfter)
        default:
            return ChorusError(.unknown, message)
        }
    }

    static func httpStatus(forGoogleStatus status: String) -> Int? {
        [
            "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400, "UNAUTHENTICATED": 401,
            "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ABORTED": 409, "ALREADY_EXISTS": 409,
            "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "INTERNAL": 500, "UNKNOWN": 500, "DATA_LOSS": 500,
            "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
        ][status]
    }

    /// `retry-after-ms`, then `retry-after` (seconds), then Gemini's `RetryInfo.retryDelay`.
    static func retryDelay(head: HTTPResponseHead?, details: ErrorDetails) -> Duration? {
        if let value = head?.header("retry-after-ms").flatMap(Double.init), value > 0 {
            return .milliseconds(value)
        }
        if let value = head?.header("retry-after").flatMap(Double.init), value > 0 {
            return .milliseconds(value * 1000)
        }
        return details.retryDelay
    }
}
