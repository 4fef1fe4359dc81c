import NIOCore

/// Sends what a connection's handlers wrote in one pass of its event loop with one syscall.
///
/// Hummingbird flushes after every response part it writes: the head, each body write, the end.
/// For an SSE response that meant separate writes for the head, the call's line-up, and the final
/// chunk after `[DONE]`, each also waking the client. This handler, nearest the socket, holds a
/// flush back until the jobs already queued on the loop have run (one `execute` behind them), so
/// parts written in the same pass leave together. A lone write waits only for that one hop;
/// a close first sends what is pending (NIO fails unflushed writes on close).
final class DeferredFlushHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var flushPending = false

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        flushPending = true
        // Runs on this loop: `execute` from the loop queues behind the jobs already queued.
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            handler.flushNow(context)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushNow(context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        flushNow(context)
    }

    private func flushNow(_ context: ChannelHandlerContext) {
        guard flushPending else { return }
        flushPending = false
        context.flush()
    }
}
