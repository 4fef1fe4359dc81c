import ChorusCore
@testable import ChorusCurl
import Foundation
import Synchronization
import Testing

/// `HTTPResponseBody.drive`: the body handed to a step on curl's thread instead of a task resumed
/// per chunk. Every byte once and in order, pauses that hold the upstream back, stops and errors
/// that end the transfer, and a step that never runs after `drive` returned.
@Suite("CurlHTTPClient drive", .timeLimit(.minutes(1)))
struct CurlDriveTests {
    static let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    struct Collected: Sendable {
        var bytes: [UInt8] = []
        var steps = 0
    }

    /// A step's observations for the test (the step runs on curl's thread).
    final class Probe: Sendable {
        let inStep = Atomic<Bool>(false)
        let stepsFinished = Atomic<Int>(0)
    }

    struct StepFailed: Error {}

    @Test("hands over every byte in order as it arrives, and ends with the body")
    func everyByte() async throws {
        let pieces = (0..<20).map { "data: piece \($0) é日本🎬\n\n" }
        var script: [ScriptedHTTPServer.Step] = [.write(Self.head)]
        for piece in pieces { script += [.write(chunk(piece)), .sleep(.milliseconds(3))] }
        script.append(.write("0\r\n\r\n"))
        try await ScriptedHTTPServer.withServer(script) { server in
            let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
            var collected = Collected()
            let end = try await response.body.drive(&collected) { collected, chunk in
                collected.bytes += chunk
                collected.steps += 1
                return .more
            }
            #expect(end == .ended)
            #expect(String(decoding: collected.bytes, as: UTF8.self) == pieces.joined())
            #expect(collected.steps >= 2, "the body must be handed over as it arrives, not at the end")
        }
    }

    @Test("a paused drive holds the upstream back; the rest arrives, complete and in order, by drive or iteration")
    func pauseHoldsBackAndLosesNothing() async throws {
        let blocks = 256  // 16 MiB
        let blockSize = CurlMultiLoopTests.blockSize
        let total = blocks * blockSize
        let script: [ScriptedHTTPServer.Step] = [
            .write("HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\n\r\n"), .writeBlocks(blocks: blocks, blockSize: blockSize), .stall,
        ]
        try await ScriptedHTTPServer.withServer(script) { server in
            let response = try await CurlHTTPClient(bufferCapacity: 256 * 1024).execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
            struct Pattern: Sendable {
                var received = 0
                var intact = true
                var sinceStart = 0

                mutating func take(_ chunk: [UInt8]) {
                    if intact { intact = CurlMultiLoopTests.matchesPattern(chunk, at: received) }
                    received += chunk.count
                    sinceStart += chunk.count
                }
            }
            var pattern = Pattern()
            // Pause after the first chunk, then leave the body alone: the upstream must stop.
            #expect(try await response.body.drive(&pattern) { pattern, chunk in
                pattern.take(chunk)
                return .pause
            } == .paused)
            var last = -1
            while server.bytesWritten.withLock({ $0 }) != last {
                last = server.bytesWritten.withLock { $0 }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(last < total / 2, "a paused drive must stop the upstream, not buffer its body")

            // Drive on in runs of ~1 MiB, alternating with iteration, to the end. One iterator for
            // all: dropping an unfinished iterator ends the transfer.
            let iterator = response.body.makeAsyncIterator()
            var driving = true
            while pattern.received < total {
                if driving {
                    pattern.sinceStart = 0
                    let end = try await response.body.drive(&pattern) { pattern, chunk in
                        pattern.take(chunk)
                        return pattern.sinceStart >= 1 << 20 ? .pause : .more
                    }
                    if end == .ended { break }
                } else {
                    guard let chunk = try await iterator.next() else { break }
                    pattern.take(chunk)
                }
                driving.toggle()
            }
            withExtendedLifetime(iterator) {}
            #expect(pattern.received == total)
            #expect(pattern.intact, "the body must arrive in order, without loss or duplication")
        }
    }

    @Test("stop ends a lingering transfer at once")
    func stopEndsTheTransfer() async throws {
        let script: [ScriptedHTTPServer.Step] = [.write(Self.head), .write(chunk("data: [DONE]\n\n")), .stall]
        try await ScriptedHTTPServer.withServer(script) { server in
            let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
            var seen = 0
            let end = try await response.body.drive(&seen) { seen, chunk in
                seen += chunk.count
                return .stop
            }
            #expect(end == .stopped)
            #expect(seen > 0)
            try await Self.waitUntil { server.closedConnections.withLock { $0 } == 1 }
            #expect(server.closedConnections.withLock { $0 } == 1, "the upstream must see the connection close")
        }
    }

    @Test("stop on a response that ends in the same read keeps its connection for the next request")
    func stopKeepsAFinishedConnection() async throws {
        // The last chunk and the end come in one write, after the drive is waiting for them.
        let responder: @Sendable (Int) -> [ScriptedHTTPServer.Step] = { index in
            [.write(Self.head + chunk("data: \(index)\n\n")), .sleep(.milliseconds(20)), .write(chunk("data: [DONE]\n\n") + "0\r\n\r\n")]
        }
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: responder) { server in
            let client = CurlHTTPClient()
            for _ in 0..<3 {
                let response = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
                var bytes: [UInt8] = []
                let end = try await response.body.drive(&bytes) { bytes, chunk in
                    bytes += chunk
                    return String(decoding: bytes, as: UTF8.self).contains("[DONE]") ? .stop : .more
                }
                #expect(end == .stopped)
            }
            #expect(server.acceptedConnections.withLock { $0 } == 1)
        }
    }

    @Test("an error thrown by the step is thrown by drive and ends the transfer")
    func stepErrorEndsTheTransfer() async throws {
        let script: [ScriptedHTTPServer.Step] = [.write(Self.head), .write(chunk("not what was expected")), .stall]
        try await ScriptedHTTPServer.withServer(script) { server in
            let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
            var unused = 0
            await #expect(throws: StepFailed.self) {
                _ = try await response.body.drive(&unused) { _, _ in throw StepFailed() }
            }
            try await Self.waitUntil { server.closedConnections.withLock { $0 } == 1 }
            #expect(server.closedConnections.withLock { $0 } == 1)
        }
    }

    @Test("cancelling a driving task ends the drive and the transfer")
    func cancellation() async throws {
        let script: [ScriptedHTTPServer.Step] = [.write(Self.head), .write(chunk("first")), .stall]
        try await ScriptedHTTPServer.withServer(script) { server in
            let started = Atomic<Bool>(false)
            let task = Task {
                let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
                var count = 0
                return try await response.body.drive(&count) { count, _ in
                    count += 1
                    started.store(true, ordering: .relaxed)
                    return .more
                }
            }
            try await Self.waitUntil { started.load(ordering: .relaxed) }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            try await Self.waitUntil { server.closedConnections.withLock { $0 } == 1 }
            #expect(server.closedConnections.withLock { $0 } == 1)
        }
    }

    @Test("a drive cancelled while its step runs returns only after the step finished, and no step runs after")
    func cancelDuringAStep() async throws {
        // The chunks come after the head, so the step runs on curl's thread, not on the task
        // draining what arrived with the head.
        let script: [ScriptedHTTPServer.Step] = [
            .write(Self.head), .sleep(.milliseconds(50)), .write(chunk("slow")), .sleep(.milliseconds(50)), .write(chunk("more")), .stall,
        ]
        try await ScriptedHTTPServer.withServer(script) { server in
            let probe = Probe()
            let task = Task {
                let response = try await CurlHTTPClient().execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/"))
                var count = 0
                defer { #expect(probe.stepsFinished.load(ordering: .acquiring) == count) }
                return try await response.body.drive(&count) { count, _ in
                    probe.inStep.store(true, ordering: .releasing)
                    // Blocks curl's thread on purpose, so the cancellation lands inside the step.
                    usleep(200_000)
                    count += 1
                    probe.stepsFinished.add(1, ordering: .releasing)
                    return .more
                }
            }
            try await Self.waitUntil { probe.inStep.load(ordering: .acquiring) }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(probe.stepsFinished.load(ordering: .acquiring) == 1, "drive returned before its step finished")
            try await Task.sleep(for: .milliseconds(300))
            #expect(probe.stepsFinished.load(ordering: .acquiring) == 1, "a step ran after drive returned")
        }
    }

    /// Waits (bounded) for a condition the test then asserts; never a timing assertion itself.
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
    }
}
