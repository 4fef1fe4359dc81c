import ChorusCore
@testable import ChorusProviders
import Testing

/// The stream parser alone, on byte sequences the fake does not produce (bare JSON error bodies,
/// LF and CR framing, garbage) and at every possible split point.
@Suite("Gemini stream parser")
struct GeminiStreamParserTests {
    static let settings = UpstreamSettings(
        provider: .gemini, baseURL: "http://127.0.0.1:9/v1beta", upstreamModel: "m",
        apiKey: APIKey("secret-key-123", source: "GEMINI_API_KEY"), keyVariable: "GEMINI_API_KEY")

    static func chunk(_ text: String, finish: String? = nil, tokens: Int? = nil, thought: Bool = false) -> String {
        var candidate = #"{"content": {"parts": [{"text": "\#(text)"\#(thought ? #","thought": true"# : "")}],"role": "model"}"#
        if let finish { candidate += #","finishReason": "\#(finish)""# }
        candidate += #","index": 0}"#
        var object = #"{"candidates": [\#(candidate)]"#
        if let tokens { object += #","usageMetadata": {"promptTokenCount": 3,"candidatesTokenCount": \#(tokens)}"# }
        return object + #","responseId": "resp-1"}"#
    }

    /// Feeds `body` split at `splits` (byte offsets); returns the text and how it ended.
    static func parse(_ body: [UInt8], splits: [Int] = []) -> (text: String, result: Result<ModelCompletion, ChorusError>) {
        var parser = GeminiStreamParser(settings: settings)
        var text = ""
        var start = 0
        for end in splits + [body.count] where end >= start {
            let (piece, error) = parser.feed(Array(body[start..<end]))
            text += piece
            if let error { return (text, .failure(error)) }
            start = end
        }
        return (text, Result { () throws(ChorusError) in try parser.finish() })
    }

    /// Parses `body` whole and at every single split point; all must agree with the whole parse.
    static func parseEverySplit(_ body: String) -> (text: String, result: Result<ModelCompletion, ChorusError>) {
        let bytes = Array(body.utf8)
        let whole = parse(bytes)
        for offset in 1..<bytes.count {
            let split = parse(bytes, splits: [offset])
            #expect(split.text == whole.text, "split at \(offset)")
            #expect(split.result.map(\.finishReason) == whole.result.map(\.finishReason), "split at \(offset)")
        }
        return whole
    }

    @Test("CRLF, LF and CR framing all decode, at every split point", arguments: ["\r\n", "\n", "\r"])
    func framings(newline: String) throws {
        let body = ["data: " + Self.chunk("think", thought: true), "data: " + Self.chunk("caf\u{E9} ", tokens: 2),
                    "data: " + Self.chunk("\u{1F44D}\u{1F3FD}", finish: "MAX_TOKENS", tokens: 4)]
            .map { $0 + newline + newline }.joined()
        let (text, result) = Self.parseEverySplit(body)
        #expect(text == "caf\u{E9} \u{1F44D}\u{1F3FD}")
        let completion = try result.get()
        #expect(completion == ModelCompletion(finishReason: "length", outputTokens: 4))
    }

    @Test("a bare JSON error object instead of SSE is reported as an in-stream error")
    func bareErrorObject() {
        let body = #"  {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}"# + "\n"
        let (text, result) = Self.parseEverySplit(body)
        #expect(text.isEmpty)
        guard case .failure(let error) = result else { Issue.record("no error"); return }
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("mid-stream"))
        #expect(error.message.contains("slow down"))
    }

    @Test("a bare one-element error array is reported too")
    func bareErrorArray() {
        let (_, result) = Self.parseEverySplit(#"[{"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}]"#)
        guard case .failure(let error) = result else { Issue.record("no error"); return }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("boom"))
    }

    @Test("bare JSON error after some SSE events keeps the text and fails")
    func bareErrorAfterEvents() {
        let body = "data: " + Self.chunk("Hello ") + "\r\n\r\n"
            + #"{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}"#
        let (text, result) = Self.parseEverySplit(body)
        #expect(text == "Hello ")
        guard case .failure(let error) = result else { Issue.record("no error"); return }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("overloaded"))
    }

    @Test("the non-SSE array form of the stream is understood")
    func jsonArrayOfResponses() throws {
        let body = "[" + Self.chunk("one ") + ",\r\n" + Self.chunk("two", finish: "STOP", tokens: 2) + "\n]"
        let (text, result) = Self.parseEverySplit(body)
        #expect(text == "one two")
        #expect(try result.get().finishReason == "stop")
    }

    @Test("data that is not JSON is INTERNAL with a snippet")
    func garbage() {
        let (_, result) = Self.parse(Array("data: <html>oops</html>\n\n".utf8))
        guard case .failure(let error) = result else { Issue.record("no error"); return }
        #expect(error.code == .internal)
        #expect(error.message.contains("<html>oops</html>"))
    }

    @Test("a body cut inside an event is UNAVAILABLE quoting the partial event")
    func cutInsideEvent() {
        let body = "data: " + Self.chunk("Hi") + "\r\n\r\ndata: {\"candidates\": [{\"con"
        let (text, result) = Self.parse(Array(body.utf8))
        #expect(text == "Hi")
        guard case .failure(let error) = result else { Issue.record("no error"); return }
        #expect(error.code == .unavailable)
        #expect(error.message.contains(#"data: {\"candidates\": [{\"con"#) || error.message.contains(#"data: {"candidates": [{"con"#))
    }

    @Test("an empty body is truncated, not a success")
    func emptyBody() {
        guard case .failure(let error) = Self.parse([]).result else { Issue.record("no error"); return }
        #expect(error.code == .unavailable)
    }

    @Test("finish reasons normalise", arguments: [
        ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
        ("LANGUAGE", "language"), ("MALFORMED_FUNCTION_CALL", "malformed_function_call"),
    ])
    func finishReasonTable(upstream: String, expected: String) {
        #expect(GeminiStreamParser.normalizedFinishReason(upstream) == expected)
    }

    @Test("the last finishReason and token count win (older models repeat STOP on every chunk)")
    func repeatedFinishReason() throws {
        let body = ["data: " + Self.chunk("a", finish: "STOP", tokens: 1), "data: " + Self.chunk("b", finish: "STOP", tokens: 2)]
            .map { $0 + "\r\n\r\n" }.joined()
        let (text, result) = Self.parse(Array(body.utf8))
        #expect(text == "ab")
        #expect(try result.get().outputTokens == 2)
    }
}
