public import NIOCore
import Synchronization

/// The single outbound path of a connection: frames from any task are encoded into one shared
/// buffer, and the event loop writes and flushes that buffer once the frames of a burst are in.
///
/// One `write` + `flush` per event costs a syscall per event (≈0.4 M events/s on loopback);
/// batching every frame produced between two loop turns into one write is what makes millions of
/// events per second possible. The buffer is also where backpressure starts: while the socket is
/// not writable nothing is handed to NIO, the buffer grows up to ``highWatermark``, and producers
/// calling ``waitForCapacity()`` suspend until the loop drains it.
///
/// Frames that belong together are often written by jobs the event loop runs one after another:
/// a model's last chunk, its `model_end`, the call's `complete` and CALL_END each come from a
/// different task resuming, and a call's line-up is written a few jobs before its models start
/// their upstream requests. A flush queued behind the first frame would send each in its own
/// syscall (and the line-up's write would delay the upstream request), so when the writer knows
/// the executor its calls run on, a flush that finds jobs of that executor still queued goes back
/// behind them, within ``FlushCoalescing``'s bounds. A frame that nothing is queued behind is
/// flushed on the loop's next pass, as without an executor.
///
/// ```swift
/// let writer = FrameWriter(channel: channel)
/// writer.write { $0.writeFrame(type: .ping, streamID: 0) { PingMessage(opaque: 1).encode(into: &$0) } }
/// try await writer.waitForCapacity()
/// ```
public final class FrameWriter: Sendable {
    private struct State {
        var pending: ByteBuffer
        var flushScheduled = false
        /// Times the scheduled flush has gone back behind queued jobs.
        var passes = 0
        /// When the flush was scheduled (`FlushCoalescing.nowNanos`).
        var scheduledAt: UInt64 = 0
        var writable = true
        var closed = false
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var nextWaiterID: UInt64 = 0

        mutating func scheduleFlush() {
            flushScheduled = true
            passes = 0
            scheduledAt = FlushCoalescing.nowNanos()
        }
    }

    private let channel: any Channel
    private let state: Mutex<State>
    /// Producers wait while more than this many bytes are buffered and not yet handed to the socket.
    public let highWatermark: Int

    /// The executor this connection's calls run on; its queued jobs may add frames to a burst.
    private let executor: EventLoopTaskExecutor?
    private let coalescing: FlushCoalescing

    /// - Parameters:
    ///   - executor: The executor the connection's calls run on (nil: flush on the loop's next pass).
    ///   - coalescing: How long a flush may wait behind `executor`'s queued jobs.
    public init(
        channel: any Channel, highWatermark: Int = 256 * 1024, executor: EventLoopTaskExecutor? = nil,
        coalescing: FlushCoalescing = .init()
    ) {
        self.channel = channel
        self.highWatermark = highWatermark
        self.executor = executor
        self.coalescing = coalescing
        self.state = Mutex(State(pending: channel.allocator.buffer(capacity: 16 * 1024)))
    }

    /// Encodes frames into the outbound buffer and makes sure a flush is scheduled. Never blocks
    /// or suspends, so control frames (PING ACK, CALL_END) always get through.
    ///
    /// - Returns: false when the connection is closed (nothing was written).
    @discardableResult
    public func write(_ encode: (inout ByteBuffer) -> Void) -> Bool {
        let (accepted, schedule) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            encode(&state.pending)
            guard !state.flushScheduled, state.writable else { return (true, false) }
            state.scheduleFlush()
            return (true, true)
        }
        if schedule {
            channel.eventLoop.execute { self.flushOnLoop() }
        }
        return accepted
    }

    /// Suspends while the outbound buffer is over the high watermark. Throws when the connection
    /// closes or the task is cancelled.
    public func waitForCapacity() async throws {
        let id: UInt64? = try state.withLock { state in
            if state.closed { throw FrameWriter.closedError }
            guard state.pending.readableBytes >= highWatermark else { return nil }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    if state.closed { return .failure(FrameWriter.closedError) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.pending.readableBytes < highWatermark { return .success(()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// True while the connection is open and the outbound buffer is under the high watermark, so
    /// ``waitForCapacity()`` would return at once.
    public var hasCapacity: Bool {
        state.withLock { !$0.closed && $0.pending.readableBytes < highWatermark }
    }

    /// Bytes encoded but not yet handed to the socket.
    public var pendingBytes: Int { state.withLock { $0.pending.readableBytes } }

    /// Called on the event loop when the channel's writability changes.
    public func writabilityChanged(isWritable: Bool) {
        let flush = state.withLock { state -> Bool in
            state.writable = isWritable
            guard isWritable, !state.flushScheduled, state.pending.readableBytes > 0 else { return false }
            state.scheduleFlush()
            state.passes = Int.max  // the socket just drained: write what waited at once
            return true
        }
        if flush { flushOnLoop() }
    }

    /// Stops accepting frames; waiting producers fail. Already-buffered bytes are flushed first
    /// when `flushPending` is true (so a final GOAWAY still reaches the peer).
    public func close(flushPending: Bool = true) {
        let (waiters, remaining) = state.withLock { state -> ([CheckedContinuation<Void, any Error>], ByteBuffer?) in
            guard !state.closed else { return ([], nil) }
            state.closed = true
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            let remaining = flushPending && state.pending.readableBytes > 0 ? state.pending : nil
            state.pending.clear()
            return (waiters, remaining)
        }
        for waiter in waiters { waiter.resume(throwing: FrameWriter.closedError) }
        if let remaining {
            channel.eventLoop.execute { self.channel.writeAndFlush(remaining, promise: nil) }
        }
    }

    private func flushOnLoop() {
        let (data, waiters, again) = state.withLock { state -> (ByteBuffer?, [CheckedContinuation<Void, any Error>], Bool) in
            guard state.writable, !state.closed, state.pending.readableBytes > 0 else {
                state.flushScheduled = false
                return (nil, [], false)
            }
            if shouldWait(&state) { return (nil, [], true) }
            state.flushScheduled = false
            let data = state.pending
            // A fresh buffer sized like the last batch: the old one now belongs to NIO until written.
            state.pending = channel.allocator.buffer(capacity: min(max(data.readableBytes, 4096), 1 << 20))
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            return (data, waiters, false)
        }
        if again {
            channel.eventLoop.execute { self.flushOnLoop() }
            return
        }
        if let data {
            channel.writeAndFlush(data, promise: nil)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether the scheduled flush goes back to the end of the loop's queue: while jobs of the calls'
    /// executor are queued (they may add the rest of a burst), never past the policy's passes, delay
    /// or size.
    private func shouldWait(_ state: inout State) -> Bool {
        guard let executor, executor.hasQueuedJobs, state.passes < coalescing.maxPasses,
            state.pending.readableBytes < coalescing.maxBytes,
            FlushCoalescing.nowNanos() &- state.scheduledAt < coalescing.maxDelayNanos
        else { return false }
        state.passes += 1
        return true
    }

    static let closedError = ChannelError.ioOnClosedChannel
}

/// Reports the channel's writability to a ``FrameWriter``. Sits last in the pipeline.
public final class FrameWriterWritabilityHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = [FrameDecoder.Output]

    private let writer: FrameWriter

    public init(writer: FrameWriter) {
        self.writer = writer
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        writer.writabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        writer.close(flushPending: false)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension FrameWriterWritabilityHandler: Sendable {}
