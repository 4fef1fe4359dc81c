import ArgumentParser
import ChorusCommandLine
import ChorusCore
import Foundation
import Synchronization
import Testing

@Suite("Running a call: outcomes, exit codes, cancellation")
struct AnalyzeRunnerTests {
    func complete(succeeded: [String], failed: [String]) -> AnalyzeOutcome {
        .completed(StreamComplete(succeeded: succeeded, failed: failed, duration: .seconds(1), requestID: "r"))
    }

    @Test func exitCodePolicy() {
        #expect(complete(succeeded: ["a", "b"], failed: []).exitCode == 0)
        #expect(complete(succeeded: ["a"], failed: ["b"]).exitCode == 0, "partial success is success")
        #expect(complete(succeeded: [], failed: ["a", "b"]).exitCode == 2, "no answer at all")
        #expect(AnalyzeOutcome.failed(ChorusError(.unavailable, "down")).exitCode == 1)
        #expect(AnalyzeOutcome.failed(ChorusError(.deadlineExceeded, "late")).exitCode == 1)
        #expect(AnalyzeOutcome.interrupted.exitCode == 130)
    }

    func execute(
        _ backend: ScriptedBackend,
        mode: OutputMode = .plain,
        arguments: [String] = ["q"]
    ) async throws -> (code: Int32, stdout: RecordingOutput, stderr: RecordingOutput) {
        let command = try #require(try ChorusCommand.parseAsRoot(["analyze"] + arguments) as? AnalyzeCommand)
        let stdout = RecordingOutput()
        let stderr = RecordingOutput()
        let code = await AnalyzeCommand.execute(
            command.makeRequest(), timeout: command.callTimeout, backend: backend, mode: mode, colors: false,
            environment: [:], standardOutput: stdout, standardError: stderr,
            terminalSize: TerminalSize(columns: 80, rows: 24)
        )
        return (code, stdout, stderr)
    }

    @Test(arguments: [OutputMode.plain, .json, .terminal])
    func partialSuccessExitsZeroInEveryMode(_ mode: OutputMode) async throws {
        let backend = ScriptedBackend(script: .geminiSucceedsPegasusFails)
        let result = try await execute(
            backend, mode: mode, arguments: ["Describe it", "-m", "gemini,pegasus", "--timeout", "2.5"])
        #expect(result.code == 0)
        #expect(result.stderr.text == "")
        #expect(!result.stdout.text.isEmpty)
        let call = try #require(backend.probe.calls.withLock { $0.first })
        #expect(call.request.query == "Describe it")
        #expect(call.request.models == ["gemini", "pegasus"])
        #expect(call.timeout == .milliseconds(2_500))
    }

    @Test func allModelsFailingExitsTwo() async throws {
        var script = EventScript()
        script.start(["a", "b"])
        script.error("a", .unavailable, "down")
        script.error("b", .deadlineExceeded, "slow")
        script.complete(succeeded: [], failed: ["a", "b"])
        let result = try await execute(ScriptedBackend(script: script))
        #expect(result.code == 2)
        #expect(result.stdout.lines.last == "== complete in 2.30 s: 0 of 2 models succeeded; failed: a, b")
    }

    @Test func callFailureMidStreamPrintsTheErrorAndExitsOne() async throws {
        var script = EventScript()
        script.start(["a"])
        script.text("a", "half an answer")
        let backend = ScriptedBackend(script: script, then: .fail(ChorusError(.unavailable, "connection lost")))
        let plain = try await execute(backend)
        #expect(plain.code == 1)
        #expect(plain.stderr.text == "error: UNAVAILABLE: connection lost\n")
        #expect(plain.stdout.lines.last == "[a] half an answer")

        let json = try await execute(backend, mode: .json)
        #expect(json.code == 1)
        #expect(
            json.stdout.lines.last
                == #"{"event_type":"error","message":"connection lost","code":"UNAVAILABLE","retryable":true}"#)
        #expect(json.stdout.lines.count == 3)
    }

    @Test func rejectedCallExitsOne() async throws {
        let backend = ScriptedBackend(steps: [.fail(ChorusError(.invalidArgument, "unknown model 'x'"))])
        let result = try await execute(backend, mode: .terminal)
        #expect(result.code == 1)
        #expect(result.stderr.text == "error: INVALID_ARGUMENT: unknown model 'x'\n")
        #expect(strippingANSI(result.stdout.text).contains("call failed after"))
    }

    @Test func streamEndingWithoutCompleteIsAFailure() async throws {
        var script = EventScript()
        script.start(["a"])
        script.end("a", ModelStats())
        let result = try await execute(ScriptedBackend(script: script))
        #expect(result.code == 1)
        #expect(result.stderr.text == "error: UNAVAILABLE: the server ended the stream before the call completed\n")
    }

    @Test func nonChorusErrorsAreMapped() {
        struct Boom: Error {}
        let outcome = AnalyzeRunner.outcome(of: .failure(Boom()), cancelled: false)
        guard case .failed(let error) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(error.code == .unknown)
    }

    @Test(arguments: [OutputMode.plain, .json, .terminal])
    func cancellingTheTaskCancelsTheCallAndExits130(_ mode: OutputMode) async throws {
        var script = EventScript()
        script.start(["a"])
        script.text("a", "thinking")
        let backend = ScriptedBackend(script: script, then: .stall)
        let stdout = RecordingOutput()
        let stderr = RecordingOutput()
        let task = Task {
            await AnalyzeCommand.execute(
                AnalyzeRequest(query: "q"), timeout: nil, backend: backend, mode: mode, colors: false,
                environment: [:], standardOutput: stdout, standardError: stderr,
                terminalSize: TerminalSize(columns: 80, rows: 24)
            )
        }
        for await _ in backend.probe.stalled { break }
        task.cancel()
        let code = await task.value

        #expect(code == 130)
        let cancelled = backend.probe.cancelled.load(ordering: .relaxed)
        #expect(cancelled, "the backend's stream saw the cancellation")
        #expect(stderr.text == "interrupted: the call was cancelled\n")
        switch mode {
        case .plain:
            #expect(stdout.lines.last == "[a] thinking")
        case .json:
            #expect(
                stdout.lines.last
                    == #"{"event_type":"error","message":"interrupted by the user","code":"CANCELLED","retryable":false}"#
            )
        case .terminal:
            #expect(strippingANSI(stdout.text).contains("interrupted after"))
            #expect(stdout.text.hasSuffix(TerminalStyle.showCursor))
        }
    }

    @Test func terminalModeGetsTicksWhileTheStreamIsIdle() async throws {
        var script = EventScript()
        script.start(["a"])
        let backend = ScriptedBackend(script: script, then: .stall)
        let stdout = RecordingOutput()
        let renderer = TerminalRenderer(
            output: stdout,
            configuration: .init(
                size: TerminalSize(columns: 80, rows: 24), style: TerminalStyle(colors: false),
                redrawInterval: .milliseconds(10))
        )
        let task = Task {
            await AnalyzeRunner.run(AnalyzeRequest(query: "q"), timeout: nil, backend: backend, renderer: renderer)
        }
        for await _ in backend.probe.stalled { break }
        // Only ticks can redraw now (the elapsed time changes every 0.1 s).
        let framesBefore = stdout.writes.count
        try await Task.sleep(for: .milliseconds(350))
        let framesAfter = stdout.writes.count
        task.cancel()
        #expect(await task.value == .interrupted)
        #expect(framesAfter > framesBefore)
    }
}
