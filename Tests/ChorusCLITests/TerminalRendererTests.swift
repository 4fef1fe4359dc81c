import ChorusCommandLine
import ChorusCore
import Testing

@Suite("Terminal renderer")
struct TerminalRendererTests {
    struct Run {
        var renderer: TerminalRenderer
        let output = RecordingOutput()
        let clock = ManualClock()

        init(columns: Int = 80, rows: Int = 24, colors: Bool = false) {
            renderer = TerminalRenderer(
                output: output,
                configuration: .init(
                    size: TerminalSize(columns: columns, rows: rows), style: TerminalStyle(colors: colors)),
                elapsed: clock.elapsed
            )
        }

        /// Renders every event, letting `step` of time pass before each.
        mutating func play(_ script: EventScript, step: Duration = .milliseconds(100)) {
            for event in script.events {
                clock.advance(by: step)
                renderer.render(event)
            }
        }
    }

    @Test func finalViewShowsColumnsStatusesAndTheComparisonTable() {
        var run = Run()
        run.play(.geminiSucceedsPegasusFails)
        run.renderer.finish(
            .completed(
                StreamComplete(
                    succeeded: ["gemini"], failed: ["pegasus"], duration: .milliseconds(2_300), requestID: "req-1")))

        #expect(
            ComparisonTable.rows(for: run.renderer.progress) == [
                ["gemini", "demo", "completed", "120 ms", "1.20 s", "8", "37", "3.63", "35.0"],
                ["pegasus", "demo", "error", "-", "-", "-", "-", "-", "-"],
            ]
        )
        let text = strippingANSI(run.output.text)
        let tableLines = [
            "Model    Provider  Status       TTFT  Duration  Words  Chars  Avg word  Tokens/s",
            "───────  ────────  ─────────  ──────  ────────  ─────  ─────  ────────  ────────",
            "gemini   demo      completed  120 ms    1.20 s      8     37      3.63      35.0",
            "pegasus  demo      error           -         -      -      -         -         -",
            "",
            "pegasus: UNAVAILABLE: upstream is down (retryable)",
        ]
        #expect(text.contains(tableLines.joined(separator: "\n") + "\n"))

        // The final frame: headers, statuses, both answers and the error, and the summary footer.
        let finalFrame = strippingANSI(run.output.writes[run.output.writes.count - 2])
        #expect(finalFrame.contains("gemini · demo"))
        #expect(finalFrame.contains("pegasus · demo"))
        #expect(finalFrame.contains("✓ completed · 1.20 s"))
        #expect(finalFrame.contains("✗ error · UNAVAILABLE"))
        #expect(finalFrame.contains("The video shows a red car."))
        #expect(finalFrame.contains("Second line"))
        #expect(finalFrame.contains("In the clip"))
        #expect(finalFrame.contains("✗ UNAVAILABLE: upstream is down"))
        #expect(finalFrame.contains("done in 2.30 s · 1 of 2 models succeeded · request req-1"))
        #expect(run.output.text.hasSuffix(TerminalStyle.showCursor))
    }

    @Test func liveStatusesProgressFromWaitingToActive() {
        var run = Run()
        var script = EventScript()
        script.start(["a", "b"])
        script.modelStart("a", provider: "openai")
        script.text("a", "one two three")
        run.play(script)
        let frame = strippingANSI(run.output.writes.last ?? "")
        #expect(frame.contains("a · openai"))
        #expect(frame.contains("● active · 3 words"))
        #expect(frame.contains("○ waiting"))
        #expect(frame.contains("0/2 models done · 1 streaming · 0.3s elapsed"))
    }

    @Test func redrawsAreThrottledAndIdenticalFramesSkipped() {
        var run = Run()
        var script = EventScript()
        script.start(["m"])
        for index in 0..<50 {
            script.text("m", "word\(index) ")
        }
        run.play(script, step: .zero)
        #expect(run.renderer.frameCount == 1)

        run.renderer.tick()
        #expect(run.renderer.frameCount == 1)
        run.clock.advance(by: .milliseconds(30))
        run.renderer.tick()
        #expect(run.renderer.frameCount == 1, "a redraw 30 ms after the last one is too soon")
        run.clock.advance(by: .milliseconds(30))
        run.renderer.tick()
        #expect(run.renderer.frameCount == 2, "the pending change is drawn once the interval passed")
        #expect(strippingANSI(run.output.writes.last ?? "").contains("word49"))

        run.clock.advance(by: .milliseconds(20))
        run.renderer.tick()
        #expect(run.renderer.frameCount == 2, "nothing changed, so nothing is drawn")
    }

    @Test func liveFramesFitTheScreenAndRedrawInPlace() {
        var run = Run(columns: 60, rows: 12)
        var script = EventScript()
        script.start(["left", "right"])
        for index in 0..<120 {
            script.text(index.isMultiple(of: 2) ? "left" : "right", "token\(index) and more words ")
        }
        run.play(script)
        run.renderer.finish(.interrupted)

        let writes = run.output.writes
        let frames = writes.dropLast()  // the last write is the comparison table
        var previousLineCount = 0
        for (index, frame) in frames.enumerated() {
            let lineCount = frame.count(where: { $0 == "\n" })
            if index < frames.count - 1 {
                #expect(lineCount <= 11, "live frame \(index) has \(lineCount) lines on a 12-row screen")
            }
            if index == 0 {
                #expect(frame.hasPrefix(TerminalStyle.hideCursor))
            } else {
                #expect(frame.hasPrefix(TerminalStyle.cursorUp(previousLineCount)))
            }
            for line in strippingANSI(frame).replacing("\r", with: "").split(separator: "\n") {
                #expect(TextLayout.displayWidth(String(line)) <= 59, "\(line)")
            }
            previousLineCount = lineCount
        }
        // The final frame is not height-limited: all 60 chunks of each column are there.
        let finalFrame = strippingANSI(frames.last ?? "")
        #expect(finalFrame.contains("token0"))
        #expect(finalFrame.contains("token119"))
        #expect(finalFrame.contains("interrupted after 12.1s"))
        #expect(strippingANSI(writes.last ?? "").contains("left   -         active"))
    }

    @Test func modelTextCannotInjectEscapeSequences() {
        var run = Run()
        var script = EventScript()
        script.start(["m"])
        script.text("m", "clear\u{1B}[2J screen\u{1B}]0;title\u{7} done")
        run.play(script)
        run.renderer.finish(.failed(ChorusError(.unavailable, "lost\nconnection")))
        let text = run.output.text
        #expect(!text.contains("\u{1B}[2J"))
        #expect(!text.contains("\u{1B}]"))
        #expect(!text.contains("\u{7}"))
        #expect(strippingANSI(text).contains("call failed after 0.2s: UNAVAILABLE: lost connection"))
    }

    @Test func colorsOnlyWhenEnabled() {
        for colors in [false, true] {
            var run = Run(colors: colors)
            run.play(.geminiSucceedsPegasusFails)
            run.renderer.finish(
                .completed(StreamComplete(succeeded: ["gemini"], failed: ["pegasus"], duration: .zero, requestID: "r")))
            let hasSGR = run.output.text.contains(/\u{1B}\[[0-9;]*m/)
            #expect(hasSGR == colors)
            #expect(run.output.text.contains("\u{1B}[32m✓ completed") == colors)
        }
    }
}
