import ChorusCore

/// Decodes the body of a `streamGenerateContent?alt=sse` response incrementally.
///
/// Each SSE event carries one `GenerateContentResponse`. The parser returns the visible text of
/// every chunk as soon as its event is complete (thought parts skipped), and remembers the last
/// `finishReason`, the cumulative `candidatesTokenCount` and the `responseId`.
///
/// Besides SSE it accepts bare JSON where an event was expected: js-genai parses raw body chunks
/// too, because Google has been seen answering `{"error": …}` (or `[{"error": …}]`) as plain
/// JSON inside a 200 response. A line that starts with `{` or `[` between events switches to
/// collecting JSON; an error there is reported like an error event.
///
/// ```swift
/// var parser = GeminiStreamParser(settings: settings)
/// for try await chunk in response.body {
///     let (text, error) = parser.feed(chunk)
///     try await output.write(text)
///     if let error { throw error }
/// }
/// let completion = try parser.finish()
/// ```
struct GeminiStreamParser {
    private enum Mode { case undecided, sse, json }

    let settings: UpstreamSettings
    /// Longest bare JSON body accepted.
    var maxJSONBytes = 4 << 20

    private var mode = Mode.undecided
    private var decoder = SSEDecoder()
    private var json: [UInt8] = []
    private var atLineStart = true
    /// The last bytes received, to quote a cut event.
    private var tail: [UInt8] = []

    /// Normalised finish reason of the last chunk that had one.
    private(set) var finishReason: String?
    /// The last cumulative `usageMetadata.candidatesTokenCount`.
    private(set) var outputTokens: Int?
    private(set) var responseID: String?

    init(settings: UpstreamSettings) {
        self.settings = settings
    }

    /// Feeds one body chunk. Returns the text it completed (possibly empty) and the error that
    /// ended the stream inside it, if any: text that arrived before an error in the same chunk
    /// still belongs to the answer and must be written first.
    mutating func feed(_ chunk: [UInt8]) -> (text: String, error: ChorusError?) {
        var text = ""
        do {
            try feed(chunk, into: &text)
            return (text, nil)
        } catch {
            return (text, error)
        }
    }

    private mutating func feed(_ chunk: [UInt8], into text: inout String) throws(ChorusError) {
        tail.append(contentsOf: chunk.suffix(256))
        if tail.count > 256 { tail.removeFirst(tail.count - 256) }
        var index = chunk.startIndex
        while index < chunk.endIndex {
            switch mode {
            case .undecided:
                // Leading blank lines decide nothing; the first real byte tells SSE from JSON.
                let byte = chunk[index]
                if Self.isWhitespace(byte) {
                    index += 1
                } else {
                    mode = byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") ? .json : .sse
                    atLineStart = true
                }
            case .json:
                json.append(contentsOf: chunk[index...])
                index = chunk.endIndex
                guard json.count <= maxJSONBytes else {
                    throw UpstreamErrors.malformed(settings, "an SSE stream or a JSON object of at most \(maxJSONBytes) bytes", got: json)
                }
                try parseJSONIfComplete(into: &text)
            case .sse:
                var end = index
                var jsonStart: Int?
                while end < chunk.endIndex {
                    let byte = chunk[end]
                    if atLineStart && (byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[")) {
                        jsonStart = end
                        break
                    }
                    atLineStart = byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                    end += 1
                }
                let events: [SSEDecoder.Event]
                do {
                    events = try decoder.feed(chunk[index..<end])
                } catch {
                    throw UpstreamErrors.malformed(settings, "SSE lines of at most \(error.limit) bytes", got: error.prefix)
                }
                for event in events { try handle(data: event.data, into: &text) }
                index = end
                if jsonStart != nil {
                    if decoder.hasPartialEvent {
                        // Inside an event a `{` line is just an unknown field; let SSE skip it.
                        atLineStart = false
                    } else {
                        mode = .json
                    }
                }
            }
        }
    }

    /// Called when the body ended normally: how the answer finished, or why it is incomplete.
    func finish() throws(ChorusError) -> ModelCompletion {
        if mode == .json, !json.isEmpty {
            // `parseJSONIfComplete` would have consumed a complete value already.
            throw UpstreamErrors.malformed(settings, "a complete JSON value", got: json)
        }
        guard let finishReason else {
            throw UpstreamErrors.truncated(settings, partial: partialEvent)
        }
        return ModelCompletion(finishReason: finishReason, outputTokens: outputTokens)
    }

    /// The bytes of an event that was cut before its end (empty when the cut fell between events).
    var partialEvent: [UInt8] {
        switch mode {
        case .json: return json
        case .undecided: return []
        case .sse:
            // The unfinished line exactly; or, when the cut fell after a complete line of an
            // unfinished event, the last bytes received.
            let pending = decoder.pendingLineBytes
            if pending > 0 { return Array(tail.suffix(pending)) }
            return decoder.hasPartialEvent ? Array(tail.suffix(80)) : []
        }
    }

    // MARK: - Events

    private mutating func handle(data: String, into text: inout String) throws(ChorusError) {
        let bytes = Self.trimmed(Array(data.utf8))
        if bytes.isEmpty || bytes.elementsEqual("[DONE]".utf8) { return }
        // JSONNode, not JSONSerialization: this runs once per streamed chunk (see JSONNode).
        guard let value = JSONNode.parse(bytes) else {
            throw UpstreamErrors.malformed(settings, "a JSON GenerateContentResponse in each SSE event", got: bytes)
        }
        try handle(value: value, into: &text)
    }

    /// Parses the collected bare JSON once it looks complete; goes back to SSE after a value.
    private mutating func parseJSONIfComplete(into text: inout String) throws(ChorusError) {
        guard let last = json.last(where: { !Self.isWhitespace($0) }),
            last == UInt8(ascii: "}") || last == UInt8(ascii: "]"),
            let value = JSONNode.parse(json),
            value.array != nil || value.isObject
        else { return }
        json.removeAll()
        mode = .undecided
        try handle(value: value, into: &text)
    }

    private mutating func handle(value: JSONNode, into text: inout String) throws(ChorusError) {
        if Self.isErrorObject(value) {
            throw UpstreamErrors.inStream(settings, errorObject: value.foundationObject)
        }
        if let array = value.array {
            // The non-SSE form of the same stream: an array of responses.
            for element in array { try handle(value: element, into: &text) }
            return
        }
        guard value.isObject else {
            throw UpstreamErrors.malformed(settings, "a JSON object", got: value.jsonText)
        }
        text += try handle(response: value)
    }

    private mutating func handle(response: JSONNode) throws(ChorusError) -> String {
        if let id = response["responseId"]?.string { responseID = id }
        if let tokens = response["usageMetadata"]?["candidatesTokenCount"]?.lenientInt {
            outputTokens = tokens
        }
        if let reason = response["promptFeedback"]?["blockReason"]?.string {
            throw ChorusError(.invalidArgument, "Gemini blocked the prompt: \(reason)", retryable: false)
        }
        guard let candidate = response["candidates"]?[0], candidate.isObject else { return "" }
        var text = ""
        for part in candidate["content"]?["parts"]?.array ?? [] {
            // Thinking summaries are not part of the answer (the SDKs' `.text` skips them too).
            if part["thought"]?.lenientBool == true { continue }
            if let piece = part["text"]?.string { text += piece }
        }
        if let reason = candidate["finishReason"]?.string {
            finishReason = Self.normalizedFinishReason(reason)
        }
        return text
    }

    // MARK: - Helpers

    /// `STOP` → `stop`, `MAX_TOKENS` → `length`, the safety family → `content_filter`, others lowercased.
    static func normalizedFinishReason(_ reason: String) -> String {
        switch reason.uppercased() {
        case "STOP": return "stop"
        case "MAX_TOKENS": return "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
            return "content_filter"
        default: return reason.lowercased()
        }
    }

    /// `{"error": …}` or `[{"error": …}]`.
    static func isErrorObject(_ value: JSONNode) -> Bool {
        (value[0] ?? value).has("error")
    }

    /// The bytes without leading and trailing JSON whitespace.
    private static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        guard let first = bytes.firstIndex(where: { !isWhitespace($0) }),
            let last = bytes.lastIndex(where: { !isWhitespace($0) })
        else { return [] }
        return Array(bytes[first...last])
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }
}
