import ChorusCore
import Foundation
import Testing
@testable import ChorusMedia

@Suite("Subprocess waits, times out and cancels without blocking")
struct SubprocessTests {
    let scratch: Scratch

    init() throws {
        scratch = try Scratch()
    }

    func shell(_ script: String, timeout: Duration = .seconds(60)) -> Subprocess {
        Subprocess(executable: "/bin/sh", arguments: ["-c", script], captureStdout: true, timeout: timeout)
    }

    /// Reads the pid a script wrote, once it exists.
    func pid(from file: String) async throws -> Int32 {
        await eventually { ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").hasSuffix("\n") }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func capturesOutputAndStatus() async throws {
        let output = try await shell("echo out; echo err >&2; exit 3").run()
        #expect(output.status == 3)
        #expect(output.exitedNormally)
        #expect(!output.succeeded)
        #expect(String(decoding: output.stdout, as: UTF8.self) == "out\n")
        #expect(output.stderr == "err\n")
    }

    @Test func largeOutputDoesNotDeadlock() async throws {
        // Far more than a pipe buffer (64 KiB) on both streams.
        let output = try await shell("head -c 2000000 /dev/zero; head -c 300000 /dev/zero >&2").run()
        #expect(output.succeeded)
        #expect(output.stdout.count == 2_000_000)
        #expect(output.stderr.utf8.count == 300_000)
    }

    @Test func timeoutKillsTheChild() async throws {
        let pidFile = scratch.file("pid")
        let run = shell("echo $$ > \(pidFile); exec sleep 30", timeout: .seconds(1))
        let error = await expectChorusError(.deadlineExceeded) { _ = try await run.run() }
        #expect(error?.message.contains("sh did not finish") == true)
        #expect(!processExists(try await pid(from: pidFile)))
    }

    @Test func cancellationKillsTheChild() async throws {
        let pidFile = scratch.file("pid")
        let task = Task { try await shell("echo $$ > \(pidFile); exec sleep 30").run() }
        let pid = try await pid(from: pidFile)
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(!processExists(pid))
    }

    @Test func childIgnoringSIGTERMIsKilled() async throws {
        let pidFile = scratch.file("pid")
        let task = Task {
            try await shell("trap '' TERM; echo $$ > \(pidFile); while :; do sleep 0.05; done").run()
        }
        let pid = try await pid(from: pidFile)
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(!processExists(pid))
    }

    #if os(Linux)
    /// Async code runs on Dispatch threads that block SIGTERM; children must not inherit that,
    /// or ffmpeg would ignore the polite stop and only die to SIGKILL.
    @Test func childStartsWithNoBlockedSignals() async throws {
        let grep = try #require(Subprocess.locate("grep"))
        let output = try await Subprocess(executable: grep, arguments: ["^SigBlk:", "/proc/self/status"],
                                          captureStdout: true, timeout: .seconds(10)).run()
        #expect(String(decoding: output.stdout, as: UTF8.self) == "SigBlk:\t0000000000000000\n")
    }
    #endif

    @Test func missingExecutableIsALaunchFailure() async throws {
        #expect(Subprocess.locate("/nonexistent/chorus/tool") == nil)
        #expect(Subprocess.locate("chorus-no-such-tool") == nil)
        #expect(Subprocess.locate("sh")?.hasSuffix("/sh") == true)
        await #expect(throws: Subprocess.LaunchFailure.self) {
            _ = try await Subprocess(executable: "/nonexistent/chorus/tool", arguments: [], timeout: .seconds(5)).run()
        }
    }
}
