import ChorusCore
import Foundation
import Testing

/// Checks the published JSON contract field by field by parsing the output with Foundation.
@Suite("AnalyzeEvent JSON contract")
struct AnalyzeEventJSONTests {
    /// 2024-06-01T12:34:56.789012Z in microseconds.
    static let timestamp: Int64 = 1_717_245_296_789_012

    func object(_ event: AnalyzeEvent) throws -> [String: Any] {
        let line = event.jsonLine()
        #expect(!line.contains("\n"))
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(parsed as? [String: Any])
    }

    func event(_ seq: UInt64, _ payload: AnalyzeEvent.Payload) -> AnalyzeEvent {
        AnalyzeEvent(seq: seq, timestampMicros: Self.timestamp, payload: payload)
    }

    @Test func startEvent() throws {
        let json = try object(
            event(1, .start(StreamStart(models: ["gemini", "pegasus"], recommended: true, requestID: "req-1"))))
        #expect(Set(json.keys) == ["event_type", "seq", "timestamp", "models", "recommended", "request_id"])
        #expect(json["event_type"] as? String == "start")
        #expect(json["seq"] as? Int == 1)
        #expect(json["models"] as? [String] == ["gemini", "pegasus"])
        #expect(json["recommended"] as? Bool == true)
        #expect(json["request_id"] as? String == "req-1")
    }

    @Test func timestampIsMillisecondsWithMicrosecondPrecision() throws {
        let line = event(7, .start(StreamStart(models: [], recommended: false, requestID: ""))).jsonLine()
        #expect(line.contains("\"timestamp\":1717245296789.012,"))
        #expect(line.contains("\"seq\":7,"))
        let json = try object(event(7, .start(StreamStart(models: [], recommended: false, requestID: ""))))
        let millis = try #require(json["timestamp"] as? Double)
        #expect(abs(millis - 1_717_245_296_789.012) < 0.0005)
        #expect(json["models"] as? [String] == [])
    }

    @Test func modelStartEvent() throws {
        let json = try object(event(2, .modelStart(ModelStart(model: "gemini", provider: "demo"))))
        #expect(Set(json.keys) == ["event_type", "seq", "timestamp", "model_name", "provider"])
        #expect(json["event_type"] as? String == "model_start")
        #expect(json["model_name"] as? String == "gemini")
        #expect(json["provider"] as? String == "demo")
    }

    @Test func textGenerationEvent() throws {
        let json = try object(event(3, .textGeneration(TextGeneration(model: "pegasus", text: "A cat\njumps."))))
        #expect(Set(json.keys) == ["event_type", "seq", "timestamp", "model", "text"])
        #expect(json["event_type"] as? String == "text_generation")
        #expect(json["seq"] as? Int == 3)
        #expect(json["model"] as? String == "pegasus")
        #expect(json["text"] as? String == "A cat\njumps.")
    }

    @Test func modelEndEventKeepsStatsInAnObject() throws {
        let stats = ModelStats(
            timeToFirstToken: .microseconds(120_500),
            duration: .milliseconds(1_204),
            characters: 230,
            words: 42,
            averageWordLength: 4.523_81,
            outputTokens: 57,
            tokensPerSecond: 35.123_456,
            finishReason: "stop",
            cached: true
        )
        let json = try object(event(9, .modelEnd(ModelEnd(model: "gemini", stats: stats))))
        #expect(Set(json.keys) == ["event_type", "seq", "timestamp", "model_name", "stats"])
        #expect(json["event_type"] as? String == "model_end")
        #expect(json["model_name"] as? String == "gemini")
        let statsJSON = try #require(json["stats"] as? [String: Any])
        #expect(
            Set(statsJSON.keys) == [
                "time_to_first_token_ms", "duration_ms", "characters", "words", "average_word_length",
                "output_tokens", "tokens_per_second", "finish_reason", "cached",
            ]
        )
        #expect(statsJSON["time_to_first_token_ms"] as? Double == 120.5)
        #expect(statsJSON["duration_ms"] as? Double == 1_204)
        #expect(statsJSON["characters"] as? Int == 230)
        #expect(statsJSON["words"] as? Int == 42)
        #expect(statsJSON["average_word_length"] as? Double == 4.524)
        #expect(statsJSON["output_tokens"] as? Int == 57)
        #expect(statsJSON["tokens_per_second"] as? Double == 35.123)
        #expect(statsJSON["finish_reason"] as? String == "stop")
        #expect(statsJSON["cached"] as? Bool == true)
    }

    @Test func missingOutputTokensAndBrokenNumbersStayValid() throws {
        let stats = ModelStats(averageWordLength: .nan, outputTokens: nil, tokensPerSecond: .infinity)
        let line = event(4, .modelEnd(ModelEnd(model: "m", stats: stats))).jsonLine()
        #expect(line.contains("\"output_tokens\":null"))
        #expect(!line.lowercased().contains("nan"))
        #expect(!line.lowercased().contains("inf"))
        let json = try object(event(4, .modelEnd(ModelEnd(model: "m", stats: stats))))
        let statsJSON = try #require(json["stats"] as? [String: Any])
        #expect(statsJSON["output_tokens"] is NSNull)
        #expect(statsJSON["average_word_length"] as? Double == 0)
        #expect(statsJSON["tokens_per_second"] as? Double == 0)
    }

    @Test func modelErrorEvent() throws {
        let error = ModelError(
            model: "gemini", code: .unavailable, message: "upstream \"down\"", retryable: true,
            retryAfter: .milliseconds(1_500))
        let json = try object(event(5, .error(error)))
        #expect(
            Set(json.keys) == [
                "event_type", "seq", "timestamp", "model", "message", "code", "retryable", "retry_after_ms",
            ])
        #expect(json["event_type"] as? String == "error")
        #expect(json["model"] as? String == "gemini")
        #expect(json["message"] as? String == "upstream \"down\"")
        #expect(json["code"] as? String == "UNAVAILABLE")
        #expect(json["retryable"] as? Bool == true)
        #expect(json["retry_after_ms"] as? Double == 1_500)
    }

    @Test func modelErrorWithoutRetryAfterOmitsTheKey() throws {
        let error = ModelError(model: "gpt4o", code: .permissionDenied, message: "no key", retryable: false)
        let json = try object(event(5, .error(error)))
        #expect(json["retry_after_ms"] == nil)
        #expect(json["code"] as? String == "PERMISSION_DENIED")
        #expect(json["retryable"] as? Bool == false)
    }

    @Test func completeEvent() throws {
        let complete = StreamComplete(
            succeeded: ["gemini"], failed: ["pegasus"], duration: .microseconds(2_301_456), requestID: "req-9")
        let json = try object(event(12, .complete(complete)))
        #expect(
            Set(json.keys) == ["event_type", "seq", "timestamp", "succeeded", "failed", "duration_ms", "request_id"])
        #expect(json["event_type"] as? String == "complete")
        #expect(json["succeeded"] as? [String] == ["gemini"])
        #expect(json["failed"] as? [String] == ["pegasus"])
        #expect(json["duration_ms"] as? Double == 2_301.456)
        #expect(json["request_id"] as? String == "req-9")
    }

    @Test func callLevelErrorHasNoModelKey() throws {
        let line = ChorusError(.invalidArgument, "query must not be empty").jsonEventLine()
        #expect(
            line
                == #"{"event_type":"error","message":"query must not be empty","code":"INVALID_ARGUMENT","retryable":false}"#
        )
        let retry = ChorusError(.resourceExhausted, "slow down", retryAfter: .seconds(2)).jsonEventLine()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(retry.utf8)) as? [String: Any])
        #expect(json["model"] == nil)
        #expect(json["seq"] == nil)
        #expect(json["retryable"] as? Bool == true)
        #expect(json["retry_after_ms"] as? Double == 2_000)
    }

    @Test func appendJSONAppendsToExistingBytes() {
        var buffer = Array("data: ".utf8)
        let event = event(1, .textGeneration(TextGeneration(model: "a", text: "b")))
        event.appendJSON(into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "data: " + event.jsonLine())
        #expect(
            event.jsonLine()
                == #"{"event_type":"text_generation","seq":1,"timestamp":1717245296789.012,"model":"a","text":"b"}"#)
    }

    @Test func modelsAndHealthDocuments() throws {
        let models = ModelInfo.jsonLine(for: [
            ModelInfo(
                name: "gemini", provider: "demo", demo: true, available: false, upstreamModel: "gemini-2.5",
                description: "Fast \"demo\"")
        ])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(models.utf8)) as? [String: Any])
        let first = try #require((parsed["models"] as? [[String: Any]])?.first)
        #expect(first["name"] as? String == "gemini")
        #expect(first["demo"] as? Bool == true)
        #expect(first["available"] as? Bool == false)
        #expect(first["upstream_model"] as? String == "gemini-2.5")
        #expect(first["description"] as? String == "Fast \"demo\"")

        let health = HealthReport(status: .notServing, version: "1.2.3", uptime: .milliseconds(61_000), activeCalls: 3)
            .jsonLine()
        #expect(health == #"{"status":"NOT_SERVING","version":"1.2.3","uptime_ms":61000,"active_calls":3}"#)
    }
}
