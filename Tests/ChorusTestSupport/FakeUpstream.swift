import ChorusCurl
import Foundation
import Synchronization

/// The fake OpenAI / Gemini / TwelveLabs server (`tools/fake_upstream/server.py`) as a child
/// process of a test. Adapter tests talk to it over real HTTP through libcurl.
///
/// ```swift
/// let fake = try await FakeUpstream.start()
/// defer { fake.stop() }
/// let base = fake.openAIBaseURL          // http://127.0.0.1:PORT/v1
/// let sent = try await fake.requests(tag: "t1")  // what the adapter sent, as the fake recorded it
/// ```
public final class FakeUpstream: Sendable {
    public let port: Int
    private let process: Mutex<Process?>

    private init(port: Int, process: Process) {
        self.port = port
        self.process = Mutex(process)
    }

    deinit { stop() }

    public var origin: String { "http://127.0.0.1:\(port)" }
    public var openAIBaseURL: String { origin + "/v1" }
    public var geminiBaseURL: String { origin + "/v1beta" }
    public var twelveLabsBaseURL: String { origin + "/v1.3" }

    /// The repository root, found from this file's location.
    public static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ChorusTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()
        .path

    /// Starts the server on a free loopback port and waits for its `PORT n` line.
    ///
    /// - Parameter mediaDirectory: served at `/media/` (video URLs returned by TwelveLabs retrieval).
    public static func start(mediaDirectory: String? = nil) async throws -> FakeUpstream {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", repositoryRoot + "/tools/fake_upstream/server.py", "--port", "0"]
        if let mediaDirectory { arguments += ["--media-dir", mediaDirectory] }
        process.arguments = arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read the first line off the cooperative pool: FileHandle reads block.
        let line: String = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var bytes: [UInt8] = []
                while true {
                    let data = stdout.fileHandleForReading.readData(ofLength: 1)
                    if data.isEmpty || data.first == UInt8(ascii: "\n") { break }
                    bytes.append(contentsOf: data)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            process.terminate()
            throw FakeUpstreamError(message: "the fake upstream did not start (first line: '\(line)')")
        }
        return FakeUpstream(port: port, process: process)
    }

    /// Stops the server (idempotent).
    public func stop() {
        process.withLock { process in
            guard let running = process else { return }
            if running.isRunning {
                running.terminate()
                running.waitUntilExit()
            }
            process = nil
        }
    }

    /// The requests the fake recorded (newest last), optionally only those tagged `tag`
    /// (`[fake:tag=T]` in a prompt or `X-Fake-Behavior: tag=T`). Each is the fake's JSON record:
    /// `method`, `path`, `provider`, `headers`, `behavior`, `json` (the body), `body_bytes`.
    public func requests(tag: String? = nil) async throws -> [[String: Any]] {
        var url = origin + "/_fake/requests"
        if let tag { url += "?tag=" + (tag.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? tag) }
        let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: url))
        let body = try await response.collectBody(limit: 64 << 20)
        return (try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]]) ?? []
    }
}

public struct FakeUpstreamError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
