import ChorusCore
import Foundation

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

    private func action(for object: [String: Any], line: [UInt8]) throws(ChorusError) -> Action {
        let eventType = object["event_type"] as? String
        switch eventType {
        case "stream_start":
            return .started(generationID: (object["metadata"] as? [String: Any])?["generation_id"] as? String)
        case "text_generation":
            guard let text = object["text"] as? String else {
                throw UpstreamErrors.malformed(settings, "a text_generation line with a text string", got: line)
            }
            return .text(text)
        case "stream_end":
            return finished(object)
        case "error", "stream_error":
            throw UpstreamErrors.inStream(settings, errorObject: object)
        default:
            // An error without an event type: the legacy inline `{"code","message"}` object or an
            // `{"error": …}` wrapper. Anything else is an event newer than this adapter.
            if object["error"] is [String: Any] || object["error"] is String
                || (object["code"] != nil && object["message"] is String)
            {
                throw UpstreamErrors.inStream(settings, errorObject: object)
            }
            return .ignored(eventType: eventType)
        }
    }

    private func finished(_ object: [String: Any]) -> Action {
        let metadata = object["metadata"] as? [String: Any]
        // `usage` sits under `metadata` in the stream; the non-streaming answer has it top-level.
        let usage = (metadata?["usage"] ?? object["usage"]) as? [String: Any]
        let outputTokens = (usage?["output_tokens"] as? NSNumber)?.intValue
        let reason = TwelveLabsEventDecoder.normalize(finishReason: object["finish_reason"] as? String)
        let warning = ((object["error"] as? [String: Any])?["message"] as? String) ?? (object["error"] as? String)
        return .finished(
            ModelCompletion(finishReason: reason, outputTokens: outputTokens),
            generationID: metadata?["generation_id"] as? String, warning: warning)
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

    private func objects(in line: [UInt8]) throws(ChorusError) -> [[String: Any]] {
        if let object = try? JSONSerialization.jsonObject(with: Data(line)) {
            guard let dictionary = object as? [String: Any] else {
                throw UpstreamErrors.malformed(settings, "one JSON object per line", got: line)
            }
            return [dictionary]
        }
        let pieces = TwelveLabsEventDecoder.topLevelObjects(line)
        var objects: [[String: Any]] = []
        for piece in pieces {
            guard let object = try? JSONSerialization.jsonObject(with: Data(piece)) as? [String: Any] else {
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
