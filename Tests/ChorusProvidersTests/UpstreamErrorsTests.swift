import ChorusCore
import ChorusCurl
import Testing

@testable import ChorusProviders

@Suite("Upstream error mapping")
struct UpstreamErrorsTests {
    static let key = APIKey("sk-secret-value-1234", source: "OPENAI_API_KEY")

    func settings(_ provider: UpstreamProvider = .openAI) -> UpstreamSettings {
        UpstreamSettings(
            provider: provider, baseURL: "http://127.0.0.1:1/v1", upstreamModel: "gpt-4o", apiKey: Self.key,
            keyVariable: provider == .gemini ? "GEMINI_API_KEY" : "OPENAI_API_KEY")
    }

    func head(_ headers: [String: String]) -> HTTPResponseHead {
        HTTPResponseHead(status: 0, headers: headers.map { HTTPHeader(name: $0.key, value: $0.value) })
    }

    @Test("status codes map to Chorus codes", arguments: [
        (400, ChorusError.Code.invalidArgument, false), (401, .unauthenticated, false), (403, .permissionDenied, false),
        (404, .notFound, false), (408, .deadlineExceeded, true), (409, .aborted, true), (429, .resourceExhausted, true),
        (500, .unavailable, true), (502, .unavailable, true), (503, .unavailable, true), (504, .deadlineExceeded, true),
    ])
    func statusMapping(status: Int, code: ChorusError.Code, retryable: Bool) {
        let body = Array(#"{"error":{"message":"nope","type":"x","code":"y"}}"#.utf8)
        let error = UpstreamErrors.http(settings(), status: status, head: nil, body: body)
        #expect(error.code == code)
        #expect(error.retryable == retryable)
        #expect(error.message.contains("OpenAI answered HTTP \(status)"))
        #expect(error.message.contains("nope"))
    }

    @Test func authenticationHintNamesTheVariableButNeverTheKey() {
        let body = Array(#"{"error":{"message":"Incorrect API key provided: sk-secret-value-1234.","code":"invalid_api_key"}}"#.utf8)
        let error = UpstreamErrors.http(settings(), status: 401, head: nil, body: body)
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("OPENAI_API_KEY"))
        #expect(!error.message.contains("sk-secret-value-1234"))
        #expect(error.message.contains("<redacted>"))
    }

    @Test func geminiInvalidKeyIs400WithReason() {
        let body = Array(#"""
            [{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
              "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}]
            """#.utf8)
        let error = UpstreamErrors.http(settings(.gemini), status: 400, head: nil, body: body)
        #expect(error.code == .unauthenticated)
        #expect(error.message.contains("GEMINI_API_KEY"))
        #expect(error.message.contains("API key not valid"))
    }

    @Test func retryDelaysComeFromHeadersOrRetryInfo() {
        let ms = UpstreamErrors.http(settings(), status: 429, head: head(["retry-after-ms": "644"]), body: [])
        #expect(ms.retryAfter == .milliseconds(644))
        let seconds = UpstreamErrors.http(settings(), status: 429, head: head(["retry-after": "2"]), body: [])
        #expect(seconds.retryAfter == .seconds(2))
        let body = Array(#"""
            {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded",
             "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}]}}
            """#.utf8)
        let info = UpstreamErrors.http(settings(.gemini), status: 429, head: nil, body: body)
        #expect(info.code == .resourceExhausted)
        #expect(info.retryAfter == .seconds(26))
        #expect(info.retryable)
    }

    @Test func exhaustedQuotaIsNotRetryable() {
        let body = Array(#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#.utf8)
        let error = UpstreamErrors.http(settings(), status: 429, head: head(["retry-after": "1"]), body: body)
        #expect(error.code == .resourceExhausted)
        #expect(!error.retryable)
    }

    @Test func nonJSONBodiesAreQuotedShortly() {
        let body = Array(("<html>" + String(repeating: "x", count: 500) + "</html>").utf8)
        let error = UpstreamErrors.http(settings(), status: 502, head: nil, body: body)
        #expect(error.code == .unavailable)
        #expect(error.message.contains("<html>"))
        #expect(error.message.count < 400)
    }

    @Test func errorInsideAStreamUsesItsCode() {
        let object: [String: Any] = ["error": ["code": 503, "status": "UNAVAILABLE", "message": "overloaded"]]
        let error = UpstreamErrors.inStream(settings(.gemini), errorObject: object)
        #expect(error.code == .unavailable)
        #expect(error.message.contains("mid-stream"))
        #expect(error.message.contains("overloaded"))
        let openAI: [String: Any] = ["error": ["message": "The server had an error", "type": "server_error"]]
        #expect(UpstreamErrors.inStream(settings(), errorObject: openAI).code == .unavailable)
    }

    @Test func malformedAndTruncatedStreams() {
        let malformed = UpstreamErrors.malformed(settings(), "expected JSON", got: Array("data: {nope\n".utf8))
        #expect(malformed.code == .internal)
        #expect(malformed.message.contains("{nope\\n"))
        let truncated = UpstreamErrors.truncated(settings(), partial: Array(#"{"choices":[{"del"#.utf8))
        #expect(truncated.code == .unavailable)
        #expect(truncated.message.contains("cut inside an event"))
    }
}
