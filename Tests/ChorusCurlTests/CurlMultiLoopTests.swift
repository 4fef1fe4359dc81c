import Foundation
import ChorusCore
@testable import ChorusCurl
import Synchronization
import Testing

/// The client's transfers share one curl multi loop: these check that they really run side by
/// side (none waits for another, a paused one holds nobody up) and that pausing loses nothing.
@Suite("CurlHTTPClient multi loop")
struct CurlMultiLoopTests {
    static let blockSize = 64 * 1024

    /// Checks that `bytes`, starting at body offset `offset`, carry the `.writeBlocks` pattern.
    /// Samples every 512th byte and the last: a lost or repeated piece shifts every later offset
    /// off its block (debug builds make a byte-by-byte check take seconds for 32 MiB).
    static func matchesPattern(_ bytes: [UInt8], at offset: Int) -> Bool {
        var indices = Array(stride(from: 0, to: bytes.count, by: 512))
        if !bytes.isEmpty { indices.append(bytes.count - 1) }
        return indices.allSatisfy { bytes[$0] == UInt8(((offset + $0) / blockSize) % 256) }
    }

    @Test("a reader that stops pauses its transfer; the client's other transfers carry on; nothing is lost on resume", .timeLimit(.minutes(1)))
    func slowReaderPausesOnlyItself() async throws {
        let blocks = 512  // 32 MiB
        let total = blocks * Self.blockSize
        // Ends with `.stall`, not a close: NIO drops writes still queued in the channel when it is
        // closed, so closing right after the last block could cut the body short for a client that
        // is still catching up (this test's reader is).
        let big: [ScriptedHTTPServer.Step] = [
            .write("HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\n\r\n"), .writeBlocks(blocks: blocks, blockSize: Self.blockSize), .stall,
        ]
        let small: [ScriptedHTTPServer.Step] = [
            .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .write(chunk("one ")), .sleep(.milliseconds(20)),
            .write(chunk("two")), .write("0\r\n\r\n"),
        ]
        try await ScriptedHTTPServer.withServer(big) { bigServer in
            try await ScriptedHTTPServer.withServer(small) { smallServer in
                let client = CurlHTTPClient(bufferCapacity: 256 * 1024)
                let response = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(bigServer.port)/big"))
                let iterator = response.body.makeAsyncIterator()
                var received = 0
                let first = try #require(try await iterator.next())
                #expect(Self.matchesPattern(first, at: 0))
                received += first.count

                // The reader stops. The server can only get as far as the client's buffer plus the
                // kernel's socket buffers; wait until it stops making progress.
                var last = -1
                while bigServer.bytesWritten.withLock({ $0 }) != last {
                    last = bigServer.bytesWritten.withLock { $0 }
                    try await Task.sleep(for: .milliseconds(200))
                }
                print("chorus-curl-test: the upstream got \(last) of \(total) bytes out while the reader paused")
                #expect(last < total / 2, "a paused reader must stop the upstream, not buffer its body")

                // Meanwhile another transfer of the same client runs to the end.
                let other = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(smallServer.port)/small"))
                #expect(String(decoding: try await other.collectBody(), as: UTF8.self) == "one two")

                // Reading again resumes the paused transfer; every byte arrives, in order.
                var intact = true
                while let chunk = try await iterator.next() {
                    if intact { intact = Self.matchesPattern(chunk, at: received) }
                    received += chunk.count
                }
                #expect(received == total)
                #expect(intact, "the body must arrive in order, without loss or duplication")
            }
        }
    }

    @Test("50 concurrent streams on one client each get their own body, complete and in order")
    func concurrentStreams() async throws {
        let responder: @Sendable (Int) -> [ScriptedHTTPServer.Step] = { index in
            var steps: [ScriptedHTTPServer.Step] = [.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")]
            for part in 0..<10 {
                steps += [.write(chunk("r\(index)p\(part);")), .sleep(.milliseconds(5))]
            }
            return steps + [.write("0\r\n\r\n")]
        }
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: responder) { server in
            let client = CurlHTTPClient()
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        let response = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
                        return String(decoding: try await response.collectBody(), as: UTF8.self)
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(bodies.count == 50)
            for body in bodies {
                let parts = body.split(separator: ";")
                let request = parts.first?.split(separator: "p").first ?? ""
                #expect(parts == (0..<10).map { Substring("\(request)p\($0)") }, "\(body)")
            }
            #expect(Set(bodies.map { $0.split(separator: "p").first ?? "" }).count == 50)
        }
    }

    @Test("dropping the client mid-transfer lets the transfer finish (the loop outlives the client while a transfer runs)")
    func transferOutlivesClient() async throws {
        let script: [ScriptedHTTPServer.Step] = [
            .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .write(chunk("a")), .sleep(.milliseconds(50)),
            .write(chunk("b")), .write("0\r\n\r\n"),
        ]
        try await ScriptedHTTPServer.withServer(script) { server in
            let response: HTTPStreamingResponse
            do {
                let client = CurlHTTPClient()
                response = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
            }  // the last copy of the client is gone: the loop shuts down once this transfer ends
            #expect(String(decoding: try await response.collectBody(), as: UTF8.self) == "ab")
        }
    }

    /// The epoll and eventfd descriptors this process holds (each client's loop owns one of each).
    static func loopDescriptors() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { name in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)")) ?? ""
            return target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]"
        }.count
    }

    @Test("dropped clients give back their loop's descriptors, whether or not they ever ran a request")
    func noDescriptorLeak() async throws {
        let script: [ScriptedHTTPServer.Step] = [.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")]
        try await ScriptedHTTPServer.withServer(script) { server in
            let before = try Self.loopDescriptors()
            for index in 0..<100 {
                let client = CurlHTTPClient()
                if index % 2 == 0 {
                    let response = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
                    #expect(try await response.collectBody() == Array("ok".utf8))
                }
            }
            // A used client's thread exits (and releases its loop) just after its last transfer.
            var after = try Self.loopDescriptors()
            let deadline = ContinuousClock.now + .seconds(10)
            while after - before >= 20, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                after = try Self.loopDescriptors()
            }
            // 100 leaked loops would hold 200 more; other tests running alongside hold a few.
            #expect(after - before < 20, "\(before) descriptors before, \(after) after 100 clients")
        }
    }
}
