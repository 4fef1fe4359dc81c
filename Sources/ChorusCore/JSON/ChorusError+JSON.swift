extension ChorusError {
    /// Appends the call-level error event: the JSON object a front end receives when the whole
    /// call fails (rejected request, lost connection, deadline, cancellation) rather than one model.
    ///
    /// It has no `model`, `seq` or `timestamp` key, which is how readers tell it from a model's
    /// `error` event:
    ///
    /// ```json
    /// {"event_type":"error","message":"query must not be empty","code":"INVALID_ARGUMENT","retryable":false}
    /// ```
    ///
    /// `retryable` is always present and `retry_after_ms` only when known, as in model errors.
    public func appendJSONEvent(into buffer: inout [UInt8]) {
        var writer = JSONWriter(appendingTo: buffer)
        buffer = []
        writer.beginObject()
        writer.key("event_type")
        writer.string("error")
        writer.writeErrorFields(message: message, code: code, retryable: retryable, retryAfter: retryAfter)
        writer.endObject()
        buffer = writer.bytes
    }

    /// The call-level error event as one JSON line without the trailing newline.
    ///
    /// ```swift
    /// let line = ChorusError(.unavailable, "connection refused").jsonEventLine()
    /// // {"event_type":"error","message":"connection refused","code":"UNAVAILABLE","retryable":true}
    /// ```
    public func jsonEventLine() -> String {
        var buffer: [UInt8] = []
        appendJSONEvent(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
