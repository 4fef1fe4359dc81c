import ChorusWire
import NIOCore
import Synchronization

/// Sends what a connection's handlers wrote in one pass of its event loop with one syscall.
///
/// Hummingbird flushes after every response part it writes: the head, each body write, the end.
/// For an SSE response that meant separate writes for the head, the call's line-up, and the final
/// chunk after `[DONE]`, each also waking the client. This handler, nearest the socket, holds a
/// flush back until the jobs already queued on the loop have run (one `execute` behind them), so
/// parts written in the same pass leave together. A lone write waits only for that one hop; a
/// close first sends what is pending (NIO fails unflushed writes on close).
///
/// On a saturated loop one pass behind the queue is long (1,000 SSE clients on one core: p99
/// delay 36–56 → 49–68 ms when every flush waited). So when a deferred flush waited longer than
/// the coalescing's `maxDelay`, every connection of that loop flushes at once for the next
/// ``busyWindowFactor`` × `maxDelay` before waiting is tried again (``LoopLoad``: per loop,
/// because one connection flushes too rarely to notice the load on its own).
final class DeferredFlushHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// How many `maxDelay`s a busy loop's connections flush at once before deferring again.
    static let busyWindowFactor: UInt64 = 10

    private let maxDelayNanos: UInt64
    private let load: LoopLoad
    private var flushPending = false
    /// When the pending flush was deferred (`FlushCoalescing.nowNanos`).
    private var deferredAt: UInt64 = 0

    /// - Parameters:
    ///   - coalescing: Its `maxDelay` is how long a deferred flush may wait before the loop counts
    ///     as busy (the bridge adds no handler for `.immediate`).
    ///   - load: The busy state shared by the connections of this handler's event loop.
    init(coalescing: FlushCoalescing, load: LoopLoad) {
        maxDelayNanos = coalescing.maxDelayNanos
        self.load = load
    }

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        let now = FlushCoalescing.nowNanos()
        if now < load.immediateUntil.load(ordering: .relaxed) {
            context.flush()
            return
        }
        flushPending = true
        deferredAt = now
        // Runs on this loop: `execute` from the loop queues behind the jobs already queued.
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.deferredFlush(context)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushNow(context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        flushNow(context)
    }

    private func deferredFlush(_ context: ChannelHandlerContext) {
        guard flushPending else { return }
        let now = FlushCoalescing.nowNanos()
        if now &- deferredAt > maxDelayNanos {
            load.immediateUntil.store(now &+ Self.busyWindowFactor &* maxDelayNanos, ordering: .relaxed)
        }
        flushNow(context)
    }

    private func flushNow(_ context: ChannelHandlerContext) {
        guard flushPending else { return }
        flushPending = false
        context.flush()
    }
}

extension DeferredFlushHandler {
    /// Whether one event loop is too busy for deferred flushes, shared by its connections.
    final class LoopLoad: Sendable {
        /// Flushes go out at once until then (`FlushCoalescing.nowNanos`).
        let immediateUntil = Atomic<UInt64>(0)
    }

    /// One ``LoopLoad`` per event loop of a server.
    final class Loads: Sendable {
        private let loads = Mutex<[ObjectIdentifier: LoopLoad]>([:])

        func load(for eventLoop: any EventLoop) -> LoopLoad {
            loads.withLock { loads in
                let key = ObjectIdentifier(eventLoop)
                if let load = loads[key] { return load }
                let load = LoopLoad()
                loads[key] = load
                return load
            }
        }
    }
}
