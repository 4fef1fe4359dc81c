import Foundation
import ChorusCore
import ChorusCurl
import Synchronization
import Testing

@Suite("CurlHTTPClient over loopback")
struct CurlHTTPClientTests {
    static let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Test: yes\r\nTransfer-Encoding: chunked\r\n\r\n"

    /// A new file in the temporary directory holding `content`; the caller removes it.
    static func temporaryFile(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-curl-test-\(UUID().uuidString)").path
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("streams the body chunk by chunk with status and headers")
    func streaming() async throws {
        let script: [ScriptedHTTPServer.Step] = [
            .write(Self.head), .write(chunk("data: é")), .sleep(.milliseconds(30)),
            .write(chunk("t日本\n\n")), .sleep(.milliseconds(30)), .write(chunk("data: 🎬\n\n")), .write("0\r\n\r\n"),
        ]
        try await ScriptedHTTPServer.withServer(script) { server in
            let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/stream"))
            #expect(response.head.status == 200)
            #expect(response.head.header("Content-Type") == "text/event-stream")
            #expect(response.head.header("x-test") == "yes")
            var chunks = 0
            var bytes: [UInt8] = []
            for try await piece in response.body {
                chunks += 1
                bytes += piece
            }
            #expect(String(decoding: bytes, as: UTF8.self) == "data: ét日本\n\ndata: 🎬\n\n")
            #expect(chunks >= 2, "the body must arrive as it is written, not all at the end")
        }
    }

    @Test("a buffer that fills in the same read as the head still hands the head over and streams everything", .timeLimit(.minutes(1)))
    func headAndFullBufferInOneRead() async throws {
        // One write: the head and 50 chunks. curl hands the chunks to the write callback one by one
        // inside a single curl_multi_perform, so the 16-byte buffer is full before the loop gets
        // to deliver the head; the reader must get the head anyway, or nobody drains the buffer.
        let body = (0..<50).map { chunk("data: chunk \($0)\n\n") }.joined()
        try await ScriptedHTTPServer.withServer([.write(Self.head + body + "0\r\n\r\n")]) { server in
            let response = try await CurlHTTPClient(bufferCapacity: 16).execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/stream"))
            #expect(response.head.status == 200)
            let text = String(decoding: try await response.collectBody(), as: UTF8.self)
            #expect(text == (0..<50).map { "data: chunk \($0)\n\n" }.joined())
        }
    }

    @Test("method, headers and body reach the server")
    func postBody() async throws {
        let script: [ScriptedHTTPServer.Step] = [.write("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")]
        try await ScriptedHTTPServer.withServer(script) { server in
            let request = HTTPRequestSpec(
                method: "POST", url: "http://127.0.0.1:\(server.port)/v1/chat/completions",
                headers: [(name: "Authorization", value: "Bearer k"), (name: "Content-Type", value: "application/json")],
                body: Array(#"{"stream":true}"#.utf8)
            )
            let response = try await CurlHTTPClient().execute(request)
            #expect(response.head.status == 201)
            #expect(try await response.collectBody() == Array("ok".utf8))
            let received = server.requests.withLock { $0.first ?? "" }
            #expect(received.hasPrefix("POST /v1/chat/completions HTTP/1.1\r\n"))
            #expect(received.contains("Authorization: Bearer k\r\n"))
            #expect(received.hasSuffix(#"{"stream":true}"#))
        }
    }

    @Test("a file body is streamed from disk with its length")
    func fileBody() async throws {
        let content = String(repeating: "0123456789abcdef", count: 3 << 16)  // 3 MiB, ASCII so the server can quote it
        let path = try Self.temporaryFile(content)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script: [ScriptedHTTPServer.Step] = [.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")]
        try await ScriptedHTTPServer.withServer(script) { server in
            let request = HTTPRequestSpec(
                method: "POST", url: "http://127.0.0.1:\(server.port)/upload", headers: [(name: "Expect", value: "")],
                body: Array("ignored: the file wins".utf8), bodyFile: path)
            let response = try await CurlHTTPClient().execute(request)
            #expect(try await response.collectBody() == Array("ok".utf8))
            let received = server.requests.withLock { $0.first ?? "" }
            #expect(received.hasPrefix("POST /upload HTTP/1.1\r\n"))
            #expect(received.contains("Content-Length: \(content.utf8.count)\r\n"))
            #expect(received.hasSuffix("\r\n\r\n" + content))
        }
        await #expect(throws: CurlError.self) {
            _ = try await CurlHTTPClient().execute(HTTPRequestSpec(method: "POST", url: "http://127.0.0.1:9/", bodyFile: "/nonexistent/file"))
        }
    }

    @Test("a multipart/form-data body: text fields and a file part streamed from disk")
    func multipartBody() async throws {
        let content = String(repeating: "fedcba9876543210", count: 1 << 16)  // 1 MiB, ASCII so the server can quote it
        let path = try Self.temporaryFile(content)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script: [ScriptedHTTPServer.Step] = [.write("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")]
        try await ScriptedHTTPServer.withServer(script) { server in
            let request = HTTPRequestSpec(
                method: "POST", url: "http://127.0.0.1:\(server.port)/v1.3/assets", headers: [(name: "Expect", value: "")],
                body: Array("ignored: the form wins".utf8),
                multipart: [
                    .field(name: "method", value: "direct"),
                    .file(name: "file", path: path, filename: "clip.mp4", contentType: "video/mp4"),
                ])
            let response = try await CurlHTTPClient().execute(request)
            #expect(response.head.status == 201)
            #expect(try await response.collectBody() == Array("ok".utf8))
            let received = server.requests.withLock { $0.first ?? "" }
            #expect(received.hasPrefix("POST /v1.3/assets HTTP/1.1\r\n"))
            let boundary = try #require(received.firstRange(of: "Content-Type: multipart/form-data; boundary=").map { match in
                String(received[match.upperBound...].prefix { !$0.isNewline })
            })
            let body = String(received[try #require(received.range(of: "\r\n\r\n")).upperBound...])
            let expected = "--\(boundary)\r\nContent-Disposition: form-data; name=\"method\"\r\n\r\ndirect\r\n"
                + "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.mp4\"\r\n"
                + "Content-Type: video/mp4\r\n\r\n\(content)\r\n--\(boundary)--\r\n"
            #expect(body == expected)
            #expect(received.contains("Content-Length: \(expected.utf8.count)\r\n"))
        }
        // A file part that cannot be read fails the transfer (nothing half-sent is reported as done).
        await #expect(throws: CurlError.self) {
            _ = try await CurlHTTPClient().execute(HTTPRequestSpec(
                method: "POST", url: "http://127.0.0.1:9/",
                multipart: [.file(name: "file", path: "/nonexistent/clip.mp4", filename: "clip.mp4", contentType: "video/mp4")]))
        }
    }

    @Test("cancelling the reader aborts the transfer: the upstream sees the connection close")
    func cancellation() async throws {
        let script: [ScriptedHTTPServer.Step] = [.write(Self.head), .write(chunk("first")), .stall]
        try await ScriptedHTTPServer.withServer(script) { server in
            let task = Task {
                let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
                for try await _ in response.body {}
            }
            while server.requests.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(50))
            let cancelled = ContinuousClock.now
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            // Cancelling wakes curl's poll (curl_multi_wakeup), so this takes milliseconds rather
            // than curl's once-a-second progress callback; 3 s is only a safety net.
            let deadline = ContinuousClock.now + .seconds(3)
            while server.closedConnections.withLock({ $0 }) == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
            print("chorus-curl-test: the upstream saw the disconnect \(ContinuousClock.now - cancelled) after cancel")
            #expect(server.closedConnections.withLock { $0 } == 1)
        }
    }

    @Test("a refused connection is UNAVAILABLE")
    func refused() async throws {
        do {
            _ = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:1/", connectTimeout: .seconds(2)))
            Issue.record("expected a connection error")
        } catch let error as CurlError {
            #expect(error.chorusError.code == .unavailable)
            #expect(error.code == 7)
        }
    }

    @Test("a total timeout is DEADLINE_EXCEEDED")
    func timeout() async throws {
        let script: [ScriptedHTTPServer.Step] = [.write(Self.head), .stall]
        try await ScriptedHTTPServer.withServer(script) { server in
            let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/", totalTimeout: .milliseconds(300)))
            do {
                for try await _ in response.body {}
                Issue.record("expected a timeout")
            } catch let error as CurlError {
                #expect(error.chorusError.code == .deadlineExceeded)
            }
        }
    }
}
