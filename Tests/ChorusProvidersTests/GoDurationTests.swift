import ChorusCore
import ChorusCurl
@testable import ChorusProviders
import Testing

@Suite("GoDuration and OpenAI rate-limit headers")
struct GoDurationTests {
    @Test(
        "parses Go durations",
        arguments: [
            ("1s", Duration.seconds(1)), ("6m0s", .seconds(360)), ("12ms", .milliseconds(12)),
            ("17ms", .milliseconds(17)), ("1h2m3.5s", .milliseconds(3_723_500)), ("0", .zero), ("0s", .zero),
            ("1.5h", .seconds(5400)), ("500us", .microseconds(500)), ("250µs", .microseconds(250)),
            ("100ns", .nanoseconds(100)), (".5s", .milliseconds(500)), ("2m30.25s", .milliseconds(150_250)),
            (" 7s ", .seconds(7)), ("+3s", .seconds(3)), ("1m1ms", .milliseconds(60_001)),
        ])
    func parses(text: String, expected: Duration) {
        #expect(GoDuration.parse(text) == expected)
    }

    @Test(
        "rejects what is not a Go duration",
        arguments: ["", "s", "1", "1x", "-1s", "1..5s", "abc", "1s2", "ms", "1 s", "1e3s", "1h-2m", "."])
    func rejects(text: String) {
        #expect(GoDuration.parse(text) == nil)
    }

    private func head(_ headers: [String: String]) -> HTTPResponseHead {
        HTTPResponseHead(status: 429, headers: headers.map { HTTPHeader(name: $0.key, value: $0.value) })
    }

    @Test("waits for the limit the error names, else the spent one, else the sooner reset")
    func resetDelay() {
        let both = [
            "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "644ms",
            "x-ratelimit-remaining-requests": "9998", "x-ratelimit-remaining-tokens": "63",
        ]
        #expect(OpenAIRateLimits.resetDelay(head: head(both), limitType: "tokens") == .milliseconds(644))
        #expect(OpenAIRateLimits.resetDelay(head: head(both), limitType: "requests") == .seconds(360))
        #expect(OpenAIRateLimits.resetDelay(head: head(both), limitType: nil) == .milliseconds(644))
        var spent = both
        spent["x-ratelimit-remaining-requests"] = "0"
        #expect(OpenAIRateLimits.resetDelay(head: head(spent), limitType: nil) == .seconds(360))
        #expect(OpenAIRateLimits.resetDelay(head: head([:]), limitType: nil) == nil)
        #expect(OpenAIRateLimits.resetDelay(head: head(["x-ratelimit-reset-tokens": "0s"]), limitType: nil) == nil)
        #expect(OpenAIRateLimits.resetDelay(head: head(["x-ratelimit-reset-tokens": "soon"]), limitType: nil) == nil)
    }

    @Test("reads which limit a 429 body names")
    func limitType() {
        let tokens = #"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#
        let requests = #"{"error":{"message":"Rate limit reached for gpt-4o on requests per min (RPM)","type":null}}"#
        #expect(OpenAIRateLimits.limitType(body: Array(tokens.utf8)) == "tokens")
        #expect(OpenAIRateLimits.limitType(body: Array(requests.utf8)) == "requests")
        #expect(OpenAIRateLimits.limitType(body: Array("<html>".utf8)) == nil)
    }

    @Test("x-should-retry overrides whether an error is retried")
    func shouldRetry() {
        let limited = ChorusError(.resourceExhausted, "429", retryable: true)
        let noRetry = OpenAIRateLimits.adjust(
            limited, status: 429, head: head(["x-should-retry": "false", "x-ratelimit-reset-tokens": "2s"]), body: [])
        #expect(!noRetry.retryable)
        #expect(noRetry.retryAfter == nil)
        let retry = OpenAIRateLimits.adjust(
            ChorusError(.invalidArgument, "400"), status: 400, head: head(["x-should-retry": "true"]), body: [])
        #expect(retry.retryable)
        let reset = OpenAIRateLimits.adjust(limited, status: 429, head: head(["x-ratelimit-reset-tokens": "2s"]), body: [])
        #expect(reset.retryAfter == .seconds(2))
        let hinted = OpenAIRateLimits.adjust(
            ChorusError(.resourceExhausted, "429", retryAfter: .seconds(3)), status: 429,
            head: head(["x-ratelimit-reset-tokens": "2s"]), body: [])
        #expect(hinted.retryAfter == .seconds(3))
    }
}
