import NIOCore
import Synchronization

/// Tells a streaming response that its client went away, without taking over the connection.
///
/// Hummingbird's `consumeWithCancellationOnInboundClose` watches the client by reading the
/// connection's inbound stream in a task that it cancels when the response ends, and a cancelled
/// inbound stream closes the connection: every SSE call then cost its client a new TCP connection
/// (and the bridge three extra tasks). This watch learns the same fact from the channel pipeline
/// instead (``ConnectionWatchHandler``), so a connection that served a whole stream stays open for
/// the client's next request.
///
/// ```swift
/// let token = watch.onClose { call.disconnect(subscriber) }
/// defer { watch.cancel(token) }
/// ```
final class ConnectionWatch: Sendable {
    private struct State {
        var closed = false
        var handlers: [UInt64: @Sendable () -> Void] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A watch whose connection is already gone.
    static var closed: ConnectionWatch {
        let watch = ConnectionWatch()
        watch.close()
        return watch
    }

    /// Runs `handler` once when the client closes its side of the connection (or it drops), or at
    /// once when that already happened. Returns a token for ``cancel(_:)``.
    func onClose(_ handler: @escaping @Sendable () -> Void) -> UInt64? {
        let token = state.withLock { state -> UInt64? in
            guard !state.closed else { return nil }
            state.nextToken += 1
            state.handlers[state.nextToken] = handler
            return state.nextToken
        }
        if token == nil { handler() }
        return token
    }

    /// Forgets a handler (the response ended first).
    func cancel(_ token: UInt64?) {
        guard let token else { return }
        _ = state.withLock { $0.handlers.removeValue(forKey: token) }
    }

    /// Marks the connection closed and runs the waiting handlers. Returns whether any was waiting,
    /// i.e. whether a response was streaming when the client left.
    @discardableResult
    func close() -> Bool {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.closed else { return [] }
            state.closed = true
            defer { state.handlers = [:] }
            return Array(state.handlers.values)
        }
        for handler in handlers { handler() }
        return !handlers.isEmpty
    }
}

/// The watches of the bridge's open connections, found by channel from a request's context.
///
/// A context holds its channel strongly and an entry leaves when its channel goes inactive, so an
/// identifier can't be reused for another channel while a request still looks it up.
final class ConnectionWatches: Sendable {
    private let watches = Mutex<[ObjectIdentifier: ConnectionWatch]>([:])

    func add(_ watch: ConnectionWatch, for channel: any Channel) {
        watches.withLock { $0[ObjectIdentifier(channel)] = watch }
    }

    func remove(for channel: any Channel) {
        _ = watches.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// The watch of `channel`; nil once it closed (or for a channel without the handler).
    func watch(for channel: any Channel) -> ConnectionWatch? {
        watches.withLock { $0[ObjectIdentifier(channel)] }
    }

    var count: Int { watches.withLock { $0.count } }
}

/// Sits in each HTTP/1 connection's pipeline (after the HTTP codec) and closes its
/// ``ConnectionWatch`` when the client half-closes or the connection drops. Everything passes
/// through untouched.
///
/// A client that half-closes while a response is streaming is treated as gone (as Hummingbird's
/// inbound-close helper does) and its connection is closed, so a write blocked on a client that
/// no longer reads fails instead of holding the stream.
final class ConnectionWatchHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let watches: ConnectionWatches
    private let watch = ConnectionWatch()

    init(watches: ConnectionWatches) {
        self.watches = watches
    }

    func handlerAdded(context: ChannelHandlerContext) {
        watches.add(watch, for: context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ended(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended(context)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The watch stays findable (closed): a request read before the FIN sees it closed at once.
        if case .inputClosed? = event as? ChannelEvent, watch.close() {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func ended(_ context: ChannelHandlerContext) {
        watches.remove(for: context.channel)
        watch.close()
    }
}
