import ChorusCore
import Foundation
import Testing

/// One block of an SSE body: an event (`id:` + `data:` lines) or a comment (`: ping`).
struct SSEBlock: Sendable, Equatable {
    /// The block exactly as written, including the blank line that ends it.
    var raw: String
    /// nil for a comment.
    var id: UInt64?
    /// The text after `data: `; nil for a comment.
    var data: String?

    var isComment: Bool { data == nil }
    var isDone: Bool { data == "[DONE]" }

    /// The JSON object of a data line (nil for `[DONE]`, comments, or bad JSON).
    var object: [String: Any]? {
        guard let data, !isDone else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
    }

    var eventType: String? { object?["event_type"] as? String }

    /// `model` (text_generation, error) or `model_name` (model_start, model_end).
    var model: String? { (object?["model"] ?? object?["model_name"]) as? String }

    var text: String? { eventType == "text_generation" ? object?["text"] as? String : nil }
}

struct SSEFormatError: Error, CustomStringConvertible {
    var description: String
}

enum SSE {
    /// Splits an SSE body into blocks, insisting on the exact shape the bridge promises:
    /// `id: N\ndata: JSON\n\n`, `data: …\n\n` (no id: `[DONE]`, call-level errors) or `: comment\n\n`;
    /// `data: ` with exactly one space, one data line per event, and nothing after the last blank line.
    static func parse(_ text: String) throws -> [SSEBlock] {
        guard !text.isEmpty else { return [] }
        guard text.hasSuffix("\n\n") else {
            throw SSEFormatError(description: "SSE text does not end with a blank line: \(text.suffix(80).debugDescription)")
        }
        var blocks: [SSEBlock] = []
        for part in text.dropLast(2).components(separatedBy: "\n\n") {
            let raw = part + "\n\n"
            let lines = part.components(separatedBy: "\n")
            if lines.count == 1, lines[0].hasPrefix(":") {
                blocks.append(SSEBlock(raw: raw, id: nil, data: nil))
                continue
            }
            var id: UInt64?
            var dataLines = lines
            if let first = lines.first, first.hasPrefix("id") {
                guard first.hasPrefix("id: "), let value = UInt64(first.dropFirst(4)) else {
                    throw SSEFormatError(description: "malformed id line \(first.debugDescription)")
                }
                id = value
                dataLines.removeFirst()
            }
            guard dataLines.count == 1, let line = dataLines.first, line.hasPrefix("data: "), !line.hasPrefix("data:  ") else {
                throw SSEFormatError(description: "an event must be an optional 'id: N' line and exactly one 'data: ' line, got \(raw.debugDescription)")
            }
            blocks.append(SSEBlock(raw: raw, id: id, data: String(line.dropFirst(6))))
        }
        return blocks
    }

    static func parse(_ bytes: [UInt8]) throws -> [SSEBlock] {
        try parse(String(decoding: bytes, as: UTF8.self))
    }

    /// Checks a complete stream against the published contract, recording an issue for each
    /// violation: contiguous ids from 1, `start` first with `models`, per model `model_start`
    /// (`model_name`), `text_generation`s (`model`, `text`) and `model_end` (`model_name`, `stats`)
    /// — or an `error` (`model`, `message`) instead of `model_end` for a model in `failing` —, then
    /// `complete`, then `data: [DONE]` and nothing else.
    static func checkContract(
        _ blocks: [SSEBlock], models: [String], failing: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let events = blocks.filter { !$0.isComment }
        guard let done = events.last, done.isDone, done.id == nil, done.raw == "data: [DONE]\n\n" else {
            Issue.record("the stream must end with exactly 'data: [DONE]\\n\\n', got \(events.last?.raw.debugDescription ?? "nothing")", sourceLocation: sourceLocation)
            return
        }
        let body = events.dropLast()
        #expect(body.map(\.id) == (1...UInt64(max(body.count, 1))).prefix(body.count).map { $0 }, "ids must be 1, 2, 3, … without gaps", sourceLocation: sourceLocation)
        for event in body {
            #expect(event.raw == "id: \(event.id ?? 0)\ndata: \(event.data ?? "")\n\n", "event bytes: \(event.raw.debugDescription)", sourceLocation: sourceLocation)
            guard let object = event.object else {
                Issue.record("data line is not a JSON object: \(event.data ?? "")", sourceLocation: sourceLocation)
                continue
            }
            if let seq = object["seq"] as? Int { #expect(UInt64(seq) == event.id, "seq matches the SSE id", sourceLocation: sourceLocation) }
        }
        guard let start = body.first, start.eventType == "start" else {
            Issue.record("the first event must be start, got \(body.first?.data ?? "nothing")", sourceLocation: sourceLocation)
            return
        }
        #expect(start.object?["models"] as? [String] == models, "start.models", sourceLocation: sourceLocation)
        guard let complete = body.last, complete.eventType == "complete" else {
            Issue.record("the last event before [DONE] must be complete, got \(body.last?.data ?? "nothing")", sourceLocation: sourceLocation)
            return
        }
        let middle = body.dropFirst().dropLast()
        for event in middle {
            switch event.eventType {
            case "model_start", "model_end":
                #expect(event.object?["model_name"] is String, "\(event.eventType!) uses model_name: \(event.data!)", sourceLocation: sourceLocation)
                #expect(event.object?["model"] == nil, sourceLocation: sourceLocation)
                if event.eventType == "model_end" {
                    #expect(event.object?["stats"] is [String: Any], "model_end carries stats", sourceLocation: sourceLocation)
                }
            case "text_generation":
                #expect(event.object?["model"] is String && event.object?["text"] is String, "text_generation uses model and text: \(event.data!)", sourceLocation: sourceLocation)
                #expect(event.object?["model_name"] == nil, sourceLocation: sourceLocation)
            case "error":
                #expect(event.object?["model"] is String && event.object?["message"] is String, "a model error has model and message: \(event.data!)", sourceLocation: sourceLocation)
            default:
                Issue.record("unexpected event between start and complete: \(event.data ?? "")", sourceLocation: sourceLocation)
            }
        }
        for model in models {
            let own = middle.filter { $0.model == model }
            #expect(own.first?.eventType == "model_start", "\(model) begins with model_start", sourceLocation: sourceLocation)
            let texts = own.dropFirst().dropLast()
            #expect(texts.allSatisfy { $0.eventType == "text_generation" }, "\(model): only text between model_start and its end", sourceLocation: sourceLocation)
            if failing.contains(model) {
                #expect(own.last?.eventType == "error", "\(model) fails with an error event", sourceLocation: sourceLocation)
                #expect(!own.contains { $0.eventType == "model_end" }, "a failed model gets no model_end", sourceLocation: sourceLocation)
            } else {
                #expect(own.last?.eventType == "model_end", "\(model) ends with model_end", sourceLocation: sourceLocation)
                #expect(!texts.isEmpty, "\(model) produced text", sourceLocation: sourceLocation)
            }
        }
    }

    /// Each model's whole answer.
    static func answers(_ blocks: [SSEBlock]) -> [String: String] {
        var answers: [String: String] = [:]
        for block in blocks {
            if let text = block.text, let model = block.model { answers[model, default: ""] += text }
        }
        return answers
    }
}

extension HTTPConnection {
    /// Reads chunks of an SSE body until `predicate` holds for a block (or the body ends); each
    /// chunk must hold whole blocks. Returns the blocks read (including the matching one) and
    /// whether the body ended.
    func readBlocks(until predicate: (SSEBlock) -> Bool) async throws -> (blocks: [SSEBlock], ended: Bool) {
        var blocks: [SSEBlock] = []
        while let chunk = try await readChunk() {
            let parsed = try SSE.parse(chunk)
            blocks += parsed
            if parsed.contains(where: predicate) { return (blocks, false) }
        }
        return (blocks, true)
    }

    /// Reads the rest of a chunked SSE body.
    func readAllBlocks() async throws -> [SSEBlock] {
        try await readBlocks(until: { _ in false }).blocks
    }

    /// A client attached to a call that is still streaming: connects, posts `json`, expects 200
    /// and reads until `predicate` holds for a block. The caller closes the connection.
    static func openStream(
        port: Int, _ json: String, headers: [(String, String)] = [], until predicate: (SSEBlock) -> Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (connection: HTTPConnection, blocks: [SSEBlock], ended: Bool) {
        let connection = try await HTTPConnection.connect(port: port)
        do {
            try await connection.postAnalyze(json, headers: headers)
            #expect(try await connection.readHead().status == 200, sourceLocation: sourceLocation)
            let (blocks, ended) = try await connection.readBlocks(until: predicate)
            return (connection, blocks, ended)
        } catch {
            connection.close()
            throw error
        }
    }
}

/// A JSON string literal for `text` (for building request bodies).
func jsonString(_ text: String) -> String {
    var writer = JSONWriter()
    writer.string(text)
    return String(decoding: writer.bytes, as: UTF8.self)
}

/// An analyze request body.
func analyzeBody(_ query: String, models: [String]? = nil, requestID: String? = nil, extra: String = "") -> String {
    var fields = [#""query":\#(jsonString(query))"#]
    if let models { fields.append(#""models":[\#(models.map(jsonString).joined(separator: ","))]"#) }
    if let requestID { fields.append(#""request_id":\#(jsonString(requestID))"#) }
    if !extra.isEmpty { fields.append(extra) }
    return "{" + fields.joined(separator: ",") + "}"
}

/// Decodes a JSON response body to an object.
func jsonObject(_ response: RawResponse) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
}

/// The `{"error":{"code","message"}}` of an error response.
func errorBody(_ response: RawResponse) -> (code: String, message: String)? {
    guard let error = jsonObject(response)?["error"] as? [String: Any],
          let code = error["code"] as? String, let message = error["message"] as? String
    else { return nil }
    return (code, message)
}
