import ChorusCore
import Foundation

/// Reads the events of one Chat Completions stream (`data: {chunk}` … `data: [DONE]`).
///
/// Each event yields the answer text it carries, at once; the parser keeps only what the
/// completion needs (finish reason, output tokens, whether `[DONE]` arrived). It follows the
/// official SDK: decoding stops at `[DONE]`, and an `error` key (or `event: error`) inside the
/// 200 stream is a failure.
///
/// ```swift
/// var parser = OpenAIStreamParser(settings: settings)
/// for event in try decoder.feed(chunk) {
///     if let text = try parser.parse(event) { try await output.write(text) }
///     if parser.sawDone { break }
/// }
/// ```
struct OpenAIStreamParser {
    let settings: UpstreamSettings
    /// Lowercased `choices[0].finish_reason`, once a chunk carried one.
    private(set) var finishReason: String?
    /// `usage.completion_tokens` of the usage chunk (sent because of `include_usage`).
    private(set) var outputTokens: Int?
    /// True once `data: [DONE]` arrived; later events must not be parsed.
    private(set) var sawDone = false

    init(settings: UpstreamSettings) {
        self.settings = settings
    }

    /// True when the stream said it is complete: `[DONE]`, or a finish reason (some
    /// OpenAI-compatible servers never send `[DONE]`).
    var isComplete: Bool { sawDone || finishReason != nil }

    /// How the answer ended; `stop` when `[DONE]` came without a finish reason.
    var completion: ModelCompletion {
        ModelCompletion(finishReason: finishReason ?? "stop", outputTokens: outputTokens)
    }

    /// The answer text in `event` (content and refusal deltas), or nil when it carries none.
    ///
    /// - Throws: the mapped upstream error for an error event, `INTERNAL` for data that is not a
    ///   chunk object.
    mutating func parse(_ event: SSEDecoder.Event) throws(ChorusError) -> String? {
        guard !sawDone else { return nil }
        if event.data.hasPrefix("[DONE]") {
            sawDone = true
            return nil
        }
        let bytes = Array(event.data.utf8)
        // JSONNode, not JSONSerialization: this runs once per streamed chunk (see JSONNode).
        let json = JSONNode.parse(bytes)
        if event.event == "error" || json?["error"].map({ !$0.isNull }) == true {
            // Rare: the error path keeps the Foundation objects UpstreamErrors reads.
            let object = try? JSONSerialization.jsonObject(with: Data(bytes))
            throw UpstreamErrors.inStream(settings, errorObject: object ?? ["message": event.data])
        }
        guard let chunk = json, chunk.isObject else {
            throw UpstreamErrors.malformed(settings, "a JSON chat.completion.chunk object", got: bytes)
        }
        if let tokens = chunk["usage"]?["completion_tokens"]?.int {
            outputTokens = tokens
        }
        guard let choices = chunk["choices"]?.array else {
            // The usage chunk has `choices: []`; a chunk without the key at all is not a chunk.
            if chunk["choices"] == nil && chunk["usage"] == nil {
                throw UpstreamErrors.malformed(settings, "a chunk with `choices`", got: bytes)
            }
            return nil
        }
        // Only one choice is asked for (no `n`); take index 0 if several come anyway.
        guard let choice = choices.first(where: { ($0["index"]?.int ?? 0) == 0 }) else { return nil }
        if let reason = choice["finish_reason"]?.string, !reason.isEmpty {
            finishReason = reason.lowercased()
        }
        let delta = choice["delta"]
        // A refusal is the model's answer to this prompt, so it is shown like content.
        let text = (delta?["content"]?.string ?? "") + (delta?["refusal"]?.string ?? "")
        return text.isEmpty ? nil : text
    }
}
