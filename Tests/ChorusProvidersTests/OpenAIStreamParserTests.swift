import ChorusCore
@testable import ChorusProviders
import Testing

/// Event-level rules of the Chat Completions stream the fake does not produce on its own.
@Suite("OpenAIStreamParser")
struct OpenAIStreamParserTests {
    let settings = UpstreamSettings(
        provider: .openAI, baseURL: "http://127.0.0.1:9/v1", upstreamModel: "gpt-4o",
        apiKey: APIKey("sk-secret-parser-key", source: "OPENAI_API_KEY"), keyVariable: "OPENAI_API_KEY")

    private func event(_ data: String, type: String? = nil) -> SSEDecoder.Event {
        SSEDecoder.Event(event: type, data: data, id: nil)
    }

    private func chunk(_ delta: String, finish: String? = nil) -> String {
        let reason = finish.map { "\"\($0)\"" } ?? "null"
        return #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":"#
            + delta + #","finish_reason":"# + reason + "}],\"usage\":null}"
    }

    @Test("content, refusal, finish reason and usage")
    func fullStream() throws {
        var parser = OpenAIStreamParser(settings: settings)
        #expect(try parser.parse(event(chunk(#"{"role":"assistant","content":"","refusal":null}"#))) == nil)
        #expect(try parser.parse(event(chunk(#"{"content":"Café 🍣"}"#))) == "Café 🍣")
        #expect(try parser.parse(event(chunk(#"{"refusal":"I can't help with that."}"#))) == "I can't help with that.")
        #expect(!parser.isComplete)
        #expect(try parser.parse(event(chunk("{}", finish: "Content_Filter"))) == nil)
        #expect(try parser.parse(event(#"{"id":"c","choices":[],"usage":{"completion_tokens":42}}"#)) == nil)
        #expect(try parser.parse(event("[DONE]")) == nil)
        #expect(parser.sawDone)
        // Nothing after [DONE] is read, not even garbage.
        #expect(try parser.parse(event("not json")) == nil)
        #expect(parser.completion == ModelCompletion(finishReason: "content_filter", outputTokens: 42))
    }

    @Test("[DONE] without a finish reason is a normal stop")
    func doneOnly() throws {
        var parser = OpenAIStreamParser(settings: settings)
        _ = try parser.parse(event("[DONE]"))
        #expect(parser.completion.finishReason == "stop")
    }

    @Test("an error object or an error event throws the mapped error, without the key")
    func errors() {
        var parser = OpenAIStreamParser(settings: settings)
        let body = #"{"error":{"message":"Overloaded, key sk-secret-parser-key","type":"server_error","param":null,"code":null}}"#
        let error = #expect(throws: ChorusError.self) { _ = try parser.parse(event(body)) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("Overloaded") == true)
        #expect(error?.message.contains("sk-secret-parser-key") == false)
        let typed = #expect(throws: ChorusError.self) {
            _ = try parser.parse(event(#"{"message":"bad things","code":"rate_limit_exceeded"}"#, type: "error"))
        }
        #expect(typed?.message.contains("bad things") == true)
    }

    @Test("data that is not a chunk object is INTERNAL with a snippet", arguments: ["{\"choices\": [", "42", "{\"id\":\"x\"}"])
    func malformed(data: String) {
        var parser = OpenAIStreamParser(settings: settings)
        let error = #expect(throws: ChorusError.self) { _ = try parser.parse(event(data)) }
        #expect(error?.code == .internal)
        #expect(error?.message.contains(data) == true)
    }
}
