import ChorusCore
import Foundation
import Synchronization
import Testing
@testable import ChorusMedia
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private temporary directory for one test, deleted when the test's suite instance goes away.
final class Scratch: Sendable {
    let path: String

    init() throws {
        path = try TemporaryDirectory(prefix: "chorus-media-test").path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ text: String, to name: String) throws -> String {
        let target = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }

    func makeDirectory(_ name: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        return target
    }

    /// A real mp4 from ffmpeg's test pattern (320x240, 10 fps): every second looks different.
    func makeVideo(_ name: String = "clip.mp4", seconds: Int = 4, size: String = "320x240") async throws -> String {
        let target = file(name)
        let output = try await runTool("ffmpeg", [
            "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc=duration=\(seconds):size=\(size):rate=10",
            "-pix_fmt", "yuv420p", "-y", target,
        ])
        try #require(output.succeeded, "ffmpeg could not make the test video: \(output.stderr)")
        return target
    }
}

/// Runs a tool from PATH through the code under test's own runner.
func runTool(_ name: String, _ arguments: [String]) async throws -> Subprocess.Output {
    let executable = try #require(Subprocess.locate(name), "\(name) must be installed for these tests")
    return try await Subprocess(executable: executable, arguments: arguments, captureStdout: true,
                                timeout: .seconds(60)).run()
}

/// Width and height from a JPEG's start-of-frame segment.
func jpegSize(_ jpeg: [UInt8]) -> (width: Int, height: Int)? {
    var index = 2
    while index + 9 < jpeg.count {
        guard jpeg[index] == 0xFF else { return nil }
        let marker = jpeg[index + 1]
        let length = Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3])
        if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
            let height = Int(jpeg[index + 5]) << 8 | Int(jpeg[index + 6])
            let width = Int(jpeg[index + 7]) << 8 | Int(jpeg[index + 8])
            return (width, height)
        }
        index += 2 + length
    }
    return nil
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Whether a process with this id still exists.
func processExists(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno != ESRCH
}

/// Polls (without any time assertion) until `condition` holds or a generous bound passes.
func eventually(_ condition: () -> Bool) async {
    for _ in 0..<5_000 where !condition() {
        try? await Task.sleep(for: .milliseconds(2))
    }
}

/// An awaitable one-shot signal for sequencing tests deterministically.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isOpen: Bool { state.withLock { $0.open } }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if open { continuation.resume() }
        }
    }
}

/// Expects `body` to throw a ``ChorusError`` and returns it.
@discardableResult
func expectChorusError(_ code: ChorusError.Code, sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () async throws -> Void) async -> ChorusError? {
    do {
        try await body()
        Issue.record("expected \(code), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ChorusError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
