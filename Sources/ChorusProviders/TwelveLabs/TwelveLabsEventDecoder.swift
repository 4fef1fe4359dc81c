import ChorusCore

/// Turns the NDJSON lines of a TwelveLabs analyze stream into actions; no I/O, so every shape of
/// line can be unit-tested without a socket.
///
/// Lines are keyed by `event_type` (providers.md §3.3):
///
/// | Line | Action |
/// | --- | --- |
/// | `stream_start` | ``Action/started(generationID:)`` |
/// | `text_generation` | ``Action/text(_:)`` |
/// | `stream_end` | ``Action/finished(_:generationID:warning:)`` (`error` there is a truncation warning) |
/// | `error`, `stream_error`, a top-level `code`+`message`, an `error` object elsewhere | throws ``UpstreamErrors/inStream(_:errorObject:)`` |
/// | any other `event_type`, or none | ``Action/ignored(eventType:)`` (forward compatible) |
/// | not JSON | throws ``UpstreamErrors/malformed(_:_:got:)`` |
///
/// The legacy Python SDK also read several JSON objects written on one line; the decoder splits
/// such a line rather than failing on it.
struct TwelveLabsEventDecoder {
    enum Action: Equatable {
        case started(generationID: String?)
        case text(String)
        case finished(ModelCompletion, generationID: String?, warning: String?)
        case ignored(eventType: String?)
    }

    let settings: UpstreamSettings

    /// The actions of one complete line, in order.
    func decode(line: [UInt8]) throws(ChorusError) -> [Action] {
        var actions: [Action] = []
        for object in try objects(in: line) {
            actions.append(try action(for: object, line: line))
        }
        return actions
    }

    private func action(for object: JSONNode, line: [UInt8]) throws(ChorusError) -> Action {
        let eventType = object["event_type"]?.string
        switch eventType {
        case "stream_start":
            return .started(generationID: object["metadata"]?["generation_id"]?.string)
        case "text_generation":
            guard let text = object["text"]?.string else {
                throw UpstreamErrors.malformed(settings, "a text_generation line with a text string", got: line)
            }
            return .text(text)
        case "stream_end":
            return finished(object)
        case "error", "stream_error":
            throw UpstreamErrors.inStream(settings, errorObject: object.foundationObject)
        default:
            // An error without an event type: the legacy inline `{"code","message"}` object or an
            // `{"error": …}` wrapper. Anything else is an event newer than this adapter.
            let error = object["error"]
            if error?.isObject == true || error?.string != nil || (object.has("code") && object["message"]?.string != nil) {
                throw UpstreamErrors.inStream(settings, errorObject: object.foundationObject)
            }
            return .ignored(eventType: eventType)
        }
    }

    private func finished(_ object: JSONNode) -> Action {
        let metadata = object["metadata"].flatMap { $0.isObject ? $0 : nil }
        // `usage` sits under `metadata` in the stream; the non-streaming answer has it top-level.
        let usage = metadata?["usage"] ?? object["usage"]
        let outputTokens = usage?["output_tokens"].flatMap { $0.double != nil ? $0.lenientInt : nil }
        let reason = TwelveLabsEventDecoder.normalize(finishReason: object["finish_reason"]?.string)
        let warning = object["error"]?["message"]?.string ?? object["error"]?.string
        return .finished(
            ModelCompletion(finishReason: reason, outputTokens: outputTokens),
            generationID: metadata?["generation_id"]?.string, warning: warning)
    }

    /// Chorus's finish reasons: `stop`, `length`, `content_filter`, anything else lowercased.
    static func normalize(finishReason: String?) -> String {
        guard let reason = finishReason?.lowercased(), !reason.isEmpty else { return "stop" }
        switch reason {
        case "max_tokens", "max_token", "token_limit": return "length"
        case "safety", "content_filtered": return "content_filter"
        default: return reason
        }
    }

    // MARK: JSON

    private func objects(in line: [UInt8]) throws(ChorusError) -> [JSONNode] {
        // JSONNode, not JSONSerialization: this runs once per streamed line (see JSONNode).
        if let object = JSONNode.parse(line) {
            guard object.isObject else {
                throw UpstreamErrors.malformed(settings, "one JSON object per line", got: line)
            }
            return [object]
        }
        let pieces = TwelveLabsEventDecoder.topLevelObjects(line)
        var objects: [JSONNode] = []
        for piece in pieces {
            guard let object = JSONNode.parse(Array(piece)), object.isObject else {
                throw UpstreamErrors.malformed(settings, "one JSON object per line", got: line)
            }
            objects.append(object)
        }
        guard objects.count > 1 else { throw UpstreamErrors.malformed(settings, "one JSON object per line", got: line) }
        return objects
    }

    /// Splits `{…}{…}` (optionally separated by whitespace) at the top-level braces, minding strings.
    static func topLevelObjects(_ line: [UInt8]) -> [ArraySlice<UInt8>] {
        var pieces: [ArraySlice<UInt8>] = []
        var depth = 0
        var start = 0
        var inString = false
        var escaped = false
        for (index, byte) in line.enumerated() {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            if depth == 0 && byte != UInt8(ascii: "{") {
                // Only whitespace may sit between the objects.
                guard byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") else { return [] }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"):
                if depth == 0 { start = index }
                depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { pieces.append(line[start...index]) }
            default: break
            }
        }
        return depth == 0 ? pieces : []
    }
}
