import ChorusWire
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// `FrameWriter`'s flush coalescing: frames written by successive jobs of the calls' executor leave
/// in one write, within the policy's bounds. Each `writeAndFlush` of the writer is one outbound
/// buffer of the testing channel, so the buffers read back are the writes a socket would see.
@Suite("FrameWriter flush coalescing", .timeLimit(.minutes(1)))
struct FrameWriterTests {
    /// No wall-clock bound in these tests: the testing loop runs jobs only when told to.
    static let patient = FlushCoalescing(maxPasses: 16, maxDelay: .seconds(3_600), maxBytes: 64 * 1024)

    @Test("frames from a task that hops through the executor between writes go out in one write")
    func burstOfJobsIsOneWrite() async throws {
        let writes = try await Self.writes(frames: 4, coalescing: Self.patient)
        #expect(writes == [4 * 10], "expected the four 10-byte frames in one write, got writes of \(writes) bytes")
    }

    @Test("without coalescing (or without an executor) each job's frame is its own write")
    func immediatePolicyWritesPerJob() async throws {
        #expect(try await Self.writes(frames: 3, coalescing: .immediate) == [10, 10, 10])
        #expect(try await Self.writes(frames: 3, coalescing: Self.patient, writerKnowsExecutor: false) == [10, 10, 10])
    }

    @Test("a flush waits behind queued jobs at most maxPasses times")
    func passesAreBounded() async throws {
        var policy = Self.patient
        policy.maxPasses = 1
        let writes = try await Self.writes(frames: 4, coalescing: policy)
        #expect(writes.reduce(0, +) == 40)
        #expect(writes.count > 1, "one pass cannot cover four jobs: \(writes)")
    }

    @Test("a flush does not wait once maxBytes are buffered")
    func bytesAreBounded() async throws {
        var policy = Self.patient
        policy.maxBytes = 10
        #expect(try await Self.writes(frames: 3, coalescing: policy) == [10, 10, 10])
    }

    @Test("a lone frame with nothing queued behind it is written on the loop's next pass")
    func loneFrameIsNotHeld() async throws {
        try await Self.withChannel { channel, executor in
            let writer = FrameWriter(channel: channel, executor: executor, coalescing: Self.patient)
            writer.write { Self.frame(into: &$0, streamID: 1) }
            await channel.testingEventLoop.run()
            let writes = try await Self.outboundWrites(channel)
            #expect(writes == [10])
            #expect(!executor.hasQueuedJobs)
        }
    }

    // MARK: - Helpers

    /// The writes a writer makes for `frames` frames written by one task with a trip through the
    /// loop's queue between them (see ``writeInJobs(_:executor:frames:loop:)``).
    static func writes(frames: Int, coalescing: FlushCoalescing, writerKnowsExecutor: Bool = true) async throws -> [Int] {
        var writes: [Int] = []
        try await withChannel { channel, executor in
            let writer = FrameWriter(channel: channel, executor: writerKnowsExecutor ? executor : nil, coalescing: coalescing)
            await writeInJobs(writer, executor: executor, frames: frames, loop: channel.testingEventLoop)
            writes = try await outboundWrites(channel)
        }
        return writes
    }

    /// A connected testing channel and an executor on its loop; the channel is closed afterwards
    /// (an open one keeps its pipeline alive, which LeakSanitizer reports).
    static func withChannel(
        _ body: (NIOAsyncTestingChannel, EventLoopTaskExecutor) async throws -> Void
    ) async throws {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        do {
            try await body(channel, EventLoopTaskExecutor(eventLoop: channel.testingEventLoop))
        } catch {
            _ = try? await channel.finish()
            throw error
        }
        _ = try await channel.finish()
    }

    /// A task on `executor` writes `frames` frames with a `Task.yield()` (a trip through the loop's
    /// queue, as when another task resumes) between them; the loop runs until the task is done.
    static func writeInJobs(
        _ writer: FrameWriter, executor: EventLoopTaskExecutor, frames: Int, loop: NIOAsyncTestingEventLoop
    ) async {
        let done = Mutex(false)
        let task = Task(executorPreference: executor) {
            for index in 0..<frames {
                if index > 0 { await Task.yield() }
                writer.write { Self.frame(into: &$0, streamID: UInt32(2 * index + 1)) }
            }
            done.withLock { $0 = true }
        }
        // The task's jobs (and the writer's flushes) run only inside `run()`, on the loop's queue in
        // the order they were enqueued, exactly as on an event loop thread.
        while !done.withLock({ $0 }) {
            await loop.run()
            try? await Task.sleep(for: .milliseconds(1))
        }
        await loop.run()
        await task.value
    }

    /// A PING frame with no payload: just the 10-byte header.
    static func frame(into buffer: inout ByteBuffer, streamID: UInt32) {
        buffer.writeFrame(type: .ping, streamID: streamID) { _ in }
    }

    /// The sizes of the buffers the writer handed to the channel, in order.
    static func outboundWrites(_ channel: NIOAsyncTestingChannel) async throws -> [Int] {
        var sizes: [Int] = []
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) { sizes.append(buffer.readableBytes) }
        return sizes
    }
}
