extension AnalyzeEvent {
    /// Appends the event as one compact JSON object (no trailing newline) to `buffer`.
    ///
    /// This is the published front-end contract, shared by the SSE bridge and `chorus analyze --json`.
    /// Every event carries `event_type`, `seq` and `timestamp`; the rest depends on the type:
    ///
    /// | `event_type` | fields |
    /// | --- | --- |
    /// | `start` | `models` (array), `recommended`, `request_id` |
    /// | `model_start` | `model_name`, `provider` |
    /// | `text_generation` | `model`, `text` |
    /// | `model_end` | `model_name`, `stats` {`time_to_first_token_ms`, `duration_ms`, `characters`, `words`, `average_word_length`, `output_tokens` (int or null), `tokens_per_second`, `finish_reason`, `cached`} |
    /// | `error` | `model`, `message`, `code` (e.g. `UNAVAILABLE`), `retryable`, `retry_after_ms` (only when known) |
    /// | `complete` | `succeeded`, `failed` (arrays), `duration_ms`, `request_id` |
    ///
    /// Units: `timestamp` is Unix time in **milliseconds** with microsecond precision (up to three
    /// decimals, e.g. `1717171717171.123`), so `new Date(timestamp)` works in JavaScript and nothing
    /// of the wire's microseconds is lost. Every `*_ms` field is milliseconds with up to three
    /// decimals; other fractional numbers are rounded to three decimals. Trailing fractional zeros
    /// are dropped (`2.5`, `7`). NaN and infinities are written as `0`.
    ///
    /// The output never contains a raw line break, so one event is always exactly one line.
    ///
    /// ```swift
    /// var buffer: [UInt8] = []
    /// for try await event in stream {
    ///     buffer.removeAll(keepingCapacity: true)
    ///     event.appendJSON(into: &buffer)
    ///     buffer.append(UInt8(ascii: "\n"))
    ///     try await write(buffer)
    /// }
    /// ```
    public func appendJSON(into buffer: inout [UInt8]) {
        var writer = JSONWriter(appendingTo: buffer)
        // Hand the storage back and forth instead of copying it: `buffer` is empty while the
        // writer owns the bytes, so appends stay unique and in place.
        buffer = []
        writeJSON(to: &writer)
        buffer = writer.bytes
    }

    /// The event as one compact JSON line without the trailing newline.
    ///
    /// ```swift
    /// print(event.jsonLine())   // {"event_type":"text_generation","seq":3,...,"model":"gemini","text":"A cat"}
    /// ```
    public func jsonLine() -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(128)
        appendJSON(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Writes the event object through an existing writer, e.g. as a member of a larger document.
    public func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("event_type")
        writer.string(eventType)
        writer.key("seq")
        writer.unsigned(seq)
        writer.key("timestamp")
        writer.millis(micros: timestampMicros)

        switch payload {
        case .start(let start):
            writer.key("models")
            writer.strings(start.models)
            writer.key("recommended")
            writer.bool(start.recommended)
            writer.key("request_id")
            writer.string(start.requestID)

        case .modelStart(let modelStart):
            writer.key("model_name")
            writer.string(modelStart.model)
            writer.key("provider")
            writer.string(modelStart.provider)

        case .textGeneration(let text):
            writer.key("model")
            writer.string(text.model)
            writer.key("text")
            writer.string(text.text)

        case .modelEnd(let end):
            writer.key("model_name")
            writer.string(end.model)
            writer.key("stats")
            end.stats.writeJSON(to: &writer)

        case .error(let error):
            writer.key("model")
            writer.string(error.model)
            writer.writeErrorFields(
                message: error.message,
                code: error.code,
                retryable: error.retryable,
                retryAfter: error.retryAfter
            )

        case .complete(let complete):
            writer.key("succeeded")
            writer.strings(complete.succeeded)
            writer.key("failed")
            writer.strings(complete.failed)
            writer.key("duration_ms")
            writer.millis(duration: complete.duration)
            writer.key("request_id")
            writer.string(complete.requestID)
        }
        writer.endObject()
    }
}

extension ModelStats {
    /// Writes the `stats` object of a `model_end` event (see ``AnalyzeEvent/appendJSON(into:)``).
    public func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("time_to_first_token_ms")
        writer.millis(duration: timeToFirstToken)
        writer.key("duration_ms")
        writer.millis(duration: duration)
        writer.key("characters")
        writer.integer(characters)
        writer.key("words")
        writer.integer(words)
        writer.key("average_word_length")
        writer.number(averageWordLength)
        writer.key("output_tokens")
        if let outputTokens {
            writer.integer(outputTokens)
        } else {
            writer.null()
        }
        writer.key("tokens_per_second")
        writer.number(tokensPerSecond)
        writer.key("finish_reason")
        writer.string(finishReason)
        writer.key("cached")
        writer.bool(cached)
        writer.endObject()
    }
}

extension JSONWriter {
    /// Writes a duration as milliseconds with microsecond precision; negative durations become `0`.
    public mutating func millis(duration: Duration) {
        // `Duration.microseconds` saturates at zero and a call never lasts 292 000 years,
        // so the conversion to Int64 cannot trap in practice; clamp anyway.
        millis(micros: Int64(clamping: duration.microseconds))
    }

    /// The fields shared by model-level and call-level error objects.
    mutating func writeErrorFields(message: String, code: ChorusError.Code, retryable: Bool, retryAfter: Duration?) {
        key("message")
        string(message)
        key("code")
        string(code.name)
        key("retryable")
        bool(retryable)
        if let retryAfter {
            key("retry_after_ms")
            millis(duration: retryAfter)
        }
    }
}
