import ChorusCommandLine
import ChorusCore
import Foundation
import Testing

@Suite("Plain and JSON renderers")
struct PlainAndJSONRendererTests {
    func renderPlain(_ script: EventScript, lineWidth: Int = 100, outcome: AnalyzeOutcome? = nil) -> RecordingOutput {
        let output = RecordingOutput()
        var renderer = PlainRenderer(output: output, lineWidth: lineWidth)
        for event in script.events {
            renderer.render(event)
        }
        renderer.finish(
            outcome ?? .completed(StreamComplete(succeeded: [], failed: [], duration: .zero, requestID: "")))
        return output
    }

    @Test func plainOutputTagsEveryLineAndKeepsModelsApart() {
        let output = renderPlain(.geminiSucceedsPegasusFails)
        #expect(
            output.lines == [
                "== request req-1: 2 models (gemini, pegasus)",
                "== gemini started (provider demo)",
                "== pegasus started (provider demo)",
                "[gemini] The video shows a red car.",
                "[gemini] Second line",
                "== gemini completed in 1.20 s: 8 words, 37 characters, first token 120 ms, 35.0 tokens/s, finish stop",
                "[pegasus] In the clip",
                "== pegasus error: UNAVAILABLE: upstream is down (retryable)",
                "== complete in 2.30 s: 1 of 2 models succeeded; failed: pegasus",
            ]
        )
    }

    @Test func plainLinesBreakAtWordsWhenTooLongAndKeepBlankLines() {
        var script = EventScript()
        script.start(["m"], recommended: true)
        script.text("m", "alpha beta gamma delta epsilon\n\nsupercalifragilistic")
        script.end("m", ModelStats(cached: true))
        let lines = renderPlain(script, lineWidth: 12).lines
        #expect(
            lines == [
                "== request req-1: 1 model (m, recommended by the server)",
                "[m] alpha beta",
                "[m] gamma delta",
                "[m] epsilon",
                "[m]",
                "[m] supercalifra",
                "[m] gilistic",
                "== m completed in 0 ms: 0 words, 0 characters, first token 0 ms, 0.0 tokens/s, cached",
            ]
        )
    }

    @Test func plainOutputStripsEscapeSequencesFromModelText() {
        var script = EventScript()
        script.start(["m"])
        script.text("m", "red \u{1B}[31mtext\u{1B}[0m\r\nbell\u{7}")
        let text = renderPlain(script, outcome: .interrupted).text
        #expect(!text.contains("\u{1B}"))
        #expect(!text.contains("\u{7}"))
        #expect(text.contains("[m] red [31mtext[0m\n[m] bell\n"))
    }

    @Test func plainFinishFlushesPendingTextAfterAFailure() {
        var script = EventScript()
        script.start(["a", "b"])
        script.text("b", "partial from b")
        script.text("a", "partial from a")
        let lines = renderPlain(script, outcome: .failed(ChorusError(.unavailable, "connection lost"))).lines
        #expect(lines.suffix(2) == ["[a] partial from a", "[b] partial from b"])
    }

    @Test func jsonModeWritesOneParsableLinePerEventWithContractNames() throws {
        let output = RecordingOutput()
        var renderer = JSONRenderer(output: output)
        var script = EventScript.geminiSucceedsPegasusFails
        script.text("gemini", "late \"quoted\"\nline\u{2028}")  // after complete, still one line
        for event in script.events {
            renderer.render(event)
        }
        renderer.finish(
            .completed(StreamComplete(succeeded: ["gemini"], failed: ["pegasus"], duration: .zero, requestID: "req-1")))

        #expect(output.writes.count == script.events.count)
        #expect(output.lines.count == script.events.count)
        let objects = try output.lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        #expect(
            objects.map { $0["event_type"] as? String } == [
                "start", "model_start", "model_start", "text_generation", "text_generation", "text_generation",
                "text_generation", "model_end", "error", "complete", "text_generation",
            ]
        )
        #expect(objects.map { $0["seq"] as? Int } == Array(1...11))
        #expect(objects[1]["model_name"] as? String == "gemini")
        #expect(objects[3]["model"] as? String == "gemini")
        #expect(objects[3]["text"] as? String == "The video ")
        #expect((objects[7]["stats"] as? [String: Any])?["words"] as? Int == 8)
        #expect(objects[8]["code"] as? String == "UNAVAILABLE")
        #expect(objects[9]["failed"] as? [String] == ["pegasus"])
        #expect(objects[10]["text"] as? String == "late \"quoted\"\nline\u{2028}")
    }

    @Test(arguments: [
        (
            AnalyzeOutcome.failed(ChorusError(.invalidArgument, "unknown model 'x'")), "INVALID_ARGUMENT",
            "unknown model 'x'"
        ),
        (.interrupted, "CANCELLED", "interrupted by the user"),
    ])
    func jsonModeEndsAFailedCallWithTheCallLevelErrorLine(_ outcome: AnalyzeOutcome, _ code: String, _ message: String)
        throws
    {
        let output = RecordingOutput()
        var renderer = JSONRenderer(output: output)
        renderer.finish(outcome)
        #expect(output.lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [String: Any])
        #expect(object["event_type"] as? String == "error")
        #expect(object["code"] as? String == code)
        #expect(object["message"] as? String == message)
        #expect(object["model"] == nil)
    }
}
