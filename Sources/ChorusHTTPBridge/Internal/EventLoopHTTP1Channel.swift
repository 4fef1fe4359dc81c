import ChorusWire
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 channel with each connection's task on the connection's event loop.
///
/// Hummingbird runs every connection's task on the global concurrent pool. A streaming call went
/// back and forth between the pool and the loop: the request handed from the loop to the pool, the
/// call moved to the loop (see `ChorusHTTPBridge.analyze`), the response head written from the pool,
/// the body pump back on the loop, the final chunk from the pool again, each hop a thread wake-up
/// (about 0.3 ms of the bridge's time to first token over the RPC path's, gateway-overhead
/// benchmark). On the loop, parsing, routing, the call and its writes stay on one thread; the
/// handlers do no blocking work (assets are in memory).
struct EventLoopHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    /// Unless `.immediate`, a ``DeferredFlushHandler`` goes nearest the socket.
    let flushCoalescing: FlushCoalescing
    let flushLoads: DeferredFlushHandler.Loads

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        if flushCoalescing.maxPasses > 0 {
            // Called on the channel's event loop (Hummingbird's child channel initializer).
            do {
                try channel.pipeline.syncOperations.addHandler(
                    DeferredFlushHandler(coalescing: flushCoalescing, load: flushLoads.load(for: channel.eventLoop)))
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        let executor = EventLoopTaskExecutor(eventLoop: value.channel.eventLoop)
        await withTaskExecutorPreference(executor) {
            await EventLoopHTTP1Channel.$connectionExecutor.withValue(executor) {
                await base.handle(value: value, logger: logger)
            }
        }
    }

    /// The executor of the connection whose request is being handled: a call started by the request
    /// runs on it too, so the flush coalescing sees every job of the connection (see FlushCoalescing).
    @TaskLocal static var connectionExecutor: EventLoopTaskExecutor?
}

extension HTTPServerBuilder {
    /// `.http1(configuration:)` with connections on their event loops (see ``EventLoopHTTP1Channel``)
    /// and, unless `flushCoalescing` is `.immediate`, one write per loop pass (see ``DeferredFlushHandler``).
    static func http1OnEventLoop(configuration: HTTP1Channel.Configuration, flushCoalescing: FlushCoalescing) -> HTTPServerBuilder {
        let loads = DeferredFlushHandler.Loads()
        return HTTPServerBuilder { responder in
            EventLoopHTTP1Channel(
                base: HTTP1Channel(responder: responder, configuration: configuration), flushCoalescing: flushCoalescing,
                flushLoads: loads)
        }
    }
}
