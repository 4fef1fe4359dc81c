/// The fields of an upstream error body, whichever provider sent it:
/// OpenAI `{"error": {message, type, code, param}}`, Gemini `{"error": {code, status, message,
/// details}}` (sometimes inside a one-element array), TwelveLabs `{"code": "...", "message": "..."}`.
struct ErrorDetails {
    var message: String?
    /// A short label for the message: OpenAI `code`/`type`, Gemini `status`, TwelveLabs `code`.
    var label: String?
    /// Gemini's `status` name, e.g. `RESOURCE_EXHAUSTED`.
    var statusName: String?
    /// A numeric HTTP code inside the body (Gemini `error.code`).
    var httpCode: Int?
    /// `ErrorInfo.reason` values (Gemini), e.g. `API_KEY_INVALID`.
    var reasons: [String] = []
    /// `RetryInfo.retryDelay` (Gemini), e.g. `26s` or `0.5s`.
    var retryDelay: Duration?

    init(json: Any?) {
        var object = json
        if let array = object as? [Any], let first = array.first { object = first }
        guard var dictionary = object as? [String: Any] else { return }
        if let inner = dictionary["error"] as? [String: Any] {
            dictionary = inner
        } else if let text = dictionary["error"] as? String {
            message = text
        }
        message = (dictionary["message"] as? String) ?? message
        statusName = dictionary["status"] as? String
        if let code = dictionary["code"] as? Int {
            httpCode = code
        } else if let code = dictionary["code"] as? String {
            label = code
        }
        if label == nil { label = statusName ?? (dictionary["type"] as? String) }
        if let type = dictionary["type"] as? String, let code = label, type != code, type == "insufficient_quota" {
            label = type
        }
        for detail in dictionary["details"] as? [[String: Any]] ?? [] {
            if let reason = detail["reason"] as? String { reasons.append(reason) }
            if let delay = detail["retryDelay"] as? String { retryDelay = ErrorDetails.parseSeconds(delay) }
        }
    }

    /// `"26s"`, `"0.5s"` → a duration.
    static func parseSeconds(_ text: String) -> Duration? {
        guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds >= 0 else { return nil }
        return .milliseconds(seconds * 1000)
    }
}
