import ChorusCore
import ChorusCurl
@testable import ChorusProviders
import Foundation
import Testing

/// The TwelveLabs line decoder and error refinements, without sockets.
@Suite("TwelveLabsEventDecoder and TwelveLabsErrors")
struct TwelveLabsEventDecoderTests {
    let settings = UpstreamSettings(
        provider: .twelveLabs, baseURL: "https://api.twelvelabs.io/v1.3", upstreamModel: "pegasus1.2",
        apiKey: APIKey("tlk_secret_key_123", source: "TWELVELABS_API_KEY"), keyVariable: "TWELVELABS_API_KEY")

    private func decode(_ line: String) throws -> [TwelveLabsEventDecoder.Action] {
        try TwelveLabsEventDecoder(settings: settings).decode(line: Array(line.utf8))
    }

    private func decodeError(_ line: String) throws -> ChorusError {
        do {
            let actions = try decode(line)
            Issue.record("expected an error, got \(actions)")
            return ChorusError(.ok, "")
        } catch {
            return ChorusError(from: error)
        }
    }

    @Test("the documented events")
    func documentedEvents() throws {
        #expect(try decode(#"{"event_type":"stream_start","metadata":{"generation_id":"g-1"}}"#) == [.started(generationID: "g-1")])
        #expect(try decode(#"{"event_type":"text_generation","text":"日本 🎬"}"#) == [.text("日本 🎬")])
        let end = #"{"event_type":"stream_end","finish_reason":"length","metadata":{"generation_id":"g-1","usage":{"output_tokens":17,"input_tokens":3}},"error":{"message":"output truncated"}}"#
        #expect(
            try decode(end) == [
                .finished(ModelCompletion(finishReason: "length", outputTokens: 17), generationID: "g-1", warning: "output truncated")
            ])
        #expect(
            try decode(#"{"event_type":"stream_end"}"#) == [
                .finished(ModelCompletion(finishReason: "stop"), generationID: nil, warning: nil)
            ])
    }

    @Test("unknown events and lines without an event type are ignored")
    func unknownEvents() throws {
        #expect(try decode(#"{"event_type":"fake_heartbeat","seq":1}"#) == [.ignored(eventType: "fake_heartbeat")])
        #expect(try decode(#"{"something":"new"}"#) == [.ignored(eventType: nil)])
    }

    @Test("several objects on one line (the legacy SDK's tolerance)")
    func concatenatedObjects() throws {
        let line = #"{"event_type":"text_generation","text":"a}{\"b"} {"event_type":"text_generation","text":"c"}"#
        #expect(try decode(line) == [.text("a}{\"b"), .text("c")])
    }

    @Test(
        "error lines throw the upstream's message",
        arguments: [
            #"{"event_type":"stream_error","error":{"message":"generation failed"}}"#,
            #"{"event_type":"error","error":{"message":"generation failed"}}"#,
            #"{"code":"internal_error","message":"generation failed"}"#,
            #"{"error":{"code":"internal_error","message":"generation failed"}}"#,
        ])
    func errorLines(line: String) throws {
        let error = try decodeError(line)
        #expect(error.code == .unavailable)
        #expect(error.message.contains("mid-stream"))
        #expect(error.message.contains("generation failed"))
    }

    @Test("lines that are not one JSON object are INTERNAL with a snippet", arguments: ["not json", "[1,2]", "{\"a\":1} x", "{\"event_type\":\"text_generation\"}"])
    func malformedLines(line: String) throws {
        let error = try decodeError(line)
        #expect(error.code == .internal)
        #expect(error.message.contains("malformed"))
        #expect(!error.retryable)
    }

    @Test("finish reasons are normalised")
    func finishReasons() {
        #expect(TwelveLabsEventDecoder.normalize(finishReason: "STOP") == "stop")
        #expect(TwelveLabsEventDecoder.normalize(finishReason: "length") == "length")
        #expect(TwelveLabsEventDecoder.normalize(finishReason: "MAX_TOKENS") == "length")
        #expect(TwelveLabsEventDecoder.normalize(finishReason: "Safety") == "content_filter")
        #expect(TwelveLabsEventDecoder.normalize(finishReason: "Other") == "other")
        #expect(TwelveLabsEventDecoder.normalize(finishReason: nil) == "stop")
    }

    // MARK: 429 delays

    @Test("the 429 message's time, seconds or X-Ratelimit-Reset become retryAfter")
    func retryDelays() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let iso = ISO8601DateFormatter().string(from: now.addingTimeInterval(42))
        let message = "You have exceeded the rate limit (8 requests per minute). Please try again later after \(iso)."
        #expect(TwelveLabsErrors.retryDelay(message: message, head: nil, now: now) == .seconds(42))
        #expect(TwelveLabsErrors.retryDelay(message: "Please try again later after 7 seconds.", head: nil, now: now) == .seconds(7))
        #expect(TwelveLabsErrors.retryDelay(message: "Please try again later after 1.5s", head: nil, now: now) == .milliseconds(1500))
        let head = HTTPResponseHead(status: 429, headers: [HTTPHeader(name: "x-ratelimit-reset", value: "1800000010")])
        #expect(TwelveLabsErrors.retryDelay(message: "try again later after {retry_after}", head: head, now: now) == .seconds(10))
        #expect(TwelveLabsErrors.retryDelay(message: nil, head: head, now: now) == .seconds(10))
        // A moment that has passed leaves the retry policy's back-off in charge.
        #expect(TwelveLabsErrors.retryDelay(message: "after 2020-01-01T00:00:00Z", head: nil, now: now) == nil)
        #expect(TwelveLabsErrors.retryDelay(message: "slow down", head: nil, now: now) == nil)
    }

    @Test("a 404 resource_not_exist names what is missing; another 404 suspects the base URL")
    func notFound() {
        let body = Array(#"{"code":"resource_not_exist","message":"Resource with id v does not exist in videos."}"#.utf8)
        let error = TwelveLabsErrors.http(settings, status: 404, head: nil, body: body, missing: "TwelveLabs has no video 'v'")
        #expect(error.code == .notFound)
        #expect(error.message.hasPrefix("TwelveLabs has no video 'v' (HTTP 404 resource_not_exist: Resource with id v"))
        let other = TwelveLabsErrors.http(
            settings, status: 404, head: nil, body: Array(#"{"error":"not found"}"#.utf8), missing: "unused")
        #expect(other.code == .notFound)
        #expect(other.message.contains("base URL https://api.twelvelabs.io/v1.3"))
    }
}
