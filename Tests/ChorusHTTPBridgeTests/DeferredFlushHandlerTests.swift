@testable import ChorusHTTPBridge
import ChorusWire
import Foundation
import NIOCore
import NIOEmbedded
import Testing

/// ``DeferredFlushHandler``: what one pass of the loop wrote leaves in one flush, nothing is held
/// back past that pass, and a close never loses a write.
@Suite("Deferred flushes", .timeLimit(.minutes(1)))
struct DeferredFlushHandlerTests {
    @Test("a flush waits for the jobs already queued on the loop, then sends everything at once")
    func oneFlushPerPass() throws {
        let (channel, flushes) = try makeChannel()
        // A job already queued (another task's write, say) runs before the deferred flush, and its
        // write joins the same flush.
        channel.embeddedEventLoop.execute {
            channel.writeAndFlush(ByteBuffer(string: "events"), promise: nil)
        }
        channel.writeAndFlush(ByteBuffer(string: "head"), promise: nil)
        channel.write(ByteBuffer(string: "more"), promise: nil)
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing leaves before the pass ends")
        #expect(flushes.count == 0)

        channel.embeddedEventLoop.run()
        #expect(flushes.count == 1)
        #expect(try readAll(channel) == ["head", "more", "events"])
        #expect(try channel.finish().isClean)
    }

    @Test("a lone write is sent on the next pass, and each pass flushes what it wrote")
    func nothingHeldBack() throws {
        let (channel, flushes) = try makeChannel()
        for round in 1...3 {
            channel.writeAndFlush(ByteBuffer(string: "event \(round)"), promise: nil)
            channel.embeddedEventLoop.run()
            #expect(flushes.count == round)
            #expect(try readAll(channel) == ["event \(round)"])
        }
        channel.embeddedEventLoop.run()
        #expect(flushes.count == 3, "no flush without a write")
        #expect(try channel.finish().isClean)
    }

    @Test("closing sends a pending flush first, so no write fails")
    func closeFlushesFirst() throws {
        let (channel, flushes) = try makeChannel()
        let written = channel.embeddedEventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(ByteBuffer(string: "[DONE]"), promise: written)
        channel.close(promise: nil)
        channel.embeddedEventLoop.run()
        #expect(flushes.count == 1)
        // Embedded futures complete synchronously: this one has, and not with an error.
        #expect(throws: Never.self) { try written.futureResult.wait() }
        #expect(try readAll(channel) == ["[DONE]"])
    }

    @Test("after a deferred flush waited longer than maxDelay, the loop's connections flush at once for 10 × maxDelay")
    func busyLoopFlushesAtOnce() throws {
        // maxDelay 30 ms: the at-once window (300 ms) is long enough that a stalled test machine
        // does not close it between the checks below.
        let load = DeferredFlushHandler.LoopLoad()
        let (channel, flushes) = try makeChannel(maxDelay: .milliseconds(30), load: load)
        let (other, otherFlushes) = try makeChannel(maxDelay: .milliseconds(30), load: load)
        channel.writeAndFlush(ByteBuffer(string: "slow"), promise: nil)
        // The loop is "busy": the deferred flush runs only after more than maxDelay.
        Thread.sleep(forTimeInterval: 0.035)
        channel.embeddedEventLoop.run()
        #expect(flushes.count == 1)

        channel.writeAndFlush(ByteBuffer(string: "at once"), promise: nil)
        #expect(flushes.count == 2, "flushed without waiting for the loop")
        #expect(try readAll(channel) == ["slow", "at once"])
        other.writeAndFlush(ByteBuffer(string: "other connection"), promise: nil)
        #expect(otherFlushes.count == 1, "another connection of the same loop flushes at once too")
        #expect(try readAll(other) == ["other connection"])
        #expect(try other.finish().isClean)

        // The 300 ms window over, flushes wait behind the queue again.
        Thread.sleep(forTimeInterval: 0.31)
        channel.writeAndFlush(ByteBuffer(string: "deferred"), promise: nil)
        #expect(flushes.count == 2)
        channel.embeddedEventLoop.run()
        #expect(flushes.count == 3)
        #expect(try readAll(channel) == ["deferred"])
        #expect(try channel.finish().isClean)
    }

    // MARK: Helpers

    /// A channel with a flush counter nearest the socket and the handler behind it.
    private func makeChannel(
        maxDelay: Duration = .seconds(1), load: DeferredFlushHandler.LoopLoad = .init()
    ) throws -> (EmbeddedChannel, FlushCounter) {
        let counter = FlushCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(DeferredFlushHandler(coalescing: FlushCoalescing(maxDelay: maxDelay), load: load))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter)
    }

    private func readAll(_ channel: EmbeddedChannel) throws -> [String] {
        var strings: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            strings.append(String(buffer: buffer))
        }
        return strings
    }
}

/// Counts the flushes that reach the socket.
private final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var count = 0

    func flush(context: ChannelHandlerContext) {
        count += 1
        context.flush()
    }
}
