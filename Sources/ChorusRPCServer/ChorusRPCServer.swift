public import ChorusCore
import ChorusWire
public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The Chorus binary RPC listener: accepts TCP connections speaking the protocol in
/// `proto/PROTOCOL.md` and serves every call from an injected ``ChorusService``.
///
/// It is a swift-service-lifecycle `Service`: run it in a `ServiceGroup` and a SIGTERM drains it
/// (GOAWAY to every client, running calls get ``Configuration/drainGracePeriod`` to finish).
///
/// ```swift
/// let server = ChorusRPCServer(service: orchestrator, configuration: .init(port: 7070), logger: logger)
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public final class ChorusRPCServer: Service, Sendable {
    private enum Lifecycle {
        case idle
        case binding([CheckedContinuation<SocketAddress?, Never>])
        case listening(any Channel, SocketAddress?)
        case draining
        case stopped
    }

    private struct State {
        var lifecycle: Lifecycle = .idle
        var connections: [ObjectIdentifier: ServerConnection] = [:]
    }

    let service: any ChorusService
    let configuration: Configuration
    let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let state = Mutex(State())

    public init(
        service: any ChorusService,
        configuration: Configuration = Configuration(),
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.service = service
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
    }

    /// The bound address once listening (useful with port 0); nil if binding failed or the server stopped.
    public var listeningAddress: SocketAddress? {
        get async {
            await withCheckedContinuation { continuation in
                let immediate: SocketAddress?? = state.withLock { state in
                    switch state.lifecycle {
                    case .idle: state.lifecycle = .binding([continuation]); return .none
                    case .binding(var waiters):
                        waiters.append(continuation)
                        state.lifecycle = .binding(waiters)
                        return .none
                    case .listening(_, let address): return .some(address)
                    case .draining, .stopped: return .some(nil)
                    }
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        }
    }

    /// Number of open connections.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    public func run() async throws {
        let configuration = self.configuration
        let serverChannel: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            serverChannel = try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.backlog, value: Int32(clamping: configuration.listenBacklog))
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
                .bind(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // With `.eventLoop` the connection and all its calls prefer the connection's
                        // event loop (see EventLoopTaskExecutor); blocking work stays on its own threads.
                        let executor: EventLoopTaskExecutor? = switch configuration.callExecutor {
                        case .eventLoop: EventLoopTaskExecutor(eventLoop: channel.eventLoop)
                        case .globalPool: nil
                        }
                        let writer = FrameWriter(
                            channel: channel, highWatermark: configuration.outboundHighWatermark, executor: executor,
                            coalescing: configuration.flushCoalescing)
                        let decoder = FrameDecoder(maxPayloadLength: configuration.maxFramePayload, expectPreface: true)
                        try channel.pipeline.syncOperations.addHandler(FrameBatchDecoder(decoder))
                        try channel.pipeline.syncOperations.addHandler(FrameWriterWritabilityHandler(writer: writer))
                        let asyncChannel = try NIOAsyncChannel<[FrameDecoder.Output], Never>(wrappingChannelSynchronously: channel)
                        return AcceptedConnection(channel: asyncChannel, writer: writer, executor: executor)
                    }
                }
        } catch {
            resolveAddressWaiters(with: nil, channel: nil)
            throw ChorusError(.unavailable, "cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        let address = serverChannel.channel.localAddress
        resolveAddressWaiters(with: address, channel: serverChannel.channel)
        logger.info("chorus RPC listening", metadata: ["address": "\(address.map { "\($0)" } ?? "?")"])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await serverChannel.executeThenClose { inbound in
                    for try await accepted in inbound {
                        let connection = ServerConnection(server: self, channel: accepted.channel, writer: accepted.writer)
                        guard self.register(connection) else {
                            connection.reject(
                                code: .resourceExhausted,
                                message: "server connection limit of \(configuration.maxConnections) reached; retry later"
                            )
                            continue
                        }
                        let executor = accepted.executor
                        // `@concurrent`: under NonisolatedNonsendingByDefault a closure's type would be
                        // `nonisolated(nonsending)`, which does not convert to the `@isolated(any)`
                        // operation `addTask(executorPreference:)` takes; a new task has no caller to inherit.
                        let serve: @concurrent @Sendable () async -> Void = {
                            // The calls' timers (deadlines, watchdogs) on the same loop (see CallTimer).
                            await CallTimers.$current.withValue(executor.map { EventLoopTimer(eventLoop: $0.eventLoop) }) {
                                await connection.run()
                            }
                            self.unregister(connection)
                        }
                        // Not `addTask(executorPreference: nil)` for the global pool: that still marks
                        // the task as having a preference, and the runtime then looks it up under the
                        // task's status lock whenever the task or one of its calls is enqueued or run.
                        if let executor {
                            group.addTask(executorPreference: executor, operation: serve)
                        } else {
                            group.addTask(operation: serve)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
        state.withLock { $0.lifecycle = .stopped }
        logger.info("chorus RPC stopped")
    }

    /// Stops accepting connections and drains the open ones: each gets a GOAWAY, running calls
    /// have the grace period to finish, and `run()` returns once every connection has closed.
    public func beginGracefulShutdown() {
        let (listener, connections) = state.withLock { state -> ((any Channel)?, [ServerConnection]) in
            var listener: (any Channel)?
            switch state.lifecycle {
            case .listening(let channel, _): listener = channel
            case .binding(let waiters):
                for waiter in waiters { waiter.resume(returning: nil) }
            case .idle, .draining, .stopped: break
            }
            if case .stopped = state.lifecycle {} else { state.lifecycle = .draining }
            return (listener, Array(state.connections.values))
        }
        if listener != nil || !connections.isEmpty {
            logger.info("chorus RPC draining", metadata: ["connections": "\(connections.count)"])
        }
        listener?.close(promise: nil)
        for connection in connections { connection.drain(reason: "server shutting down") }
    }

    private func resolveAddressWaiters(with address: SocketAddress?, channel: (any Channel)?) {
        let waiters = state.withLock { state -> [CheckedContinuation<SocketAddress?, Never>] in
            var waiters: [CheckedContinuation<SocketAddress?, Never>] = []
            if case .binding(let pending) = state.lifecycle { waiters = pending }
            if let channel {
                if case .draining = state.lifecycle {
                    channel.close(promise: nil)
                } else {
                    state.lifecycle = .listening(channel, address)
                }
            } else {
                state.lifecycle = .stopped
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: address) }
    }

    private func register(_ connection: ServerConnection) -> Bool {
        state.withLock { state in
            guard state.connections.count < configuration.maxConnections else { return false }
            state.connections[ObjectIdentifier(connection)] = connection
            if case .draining = state.lifecycle { connection.drain(reason: "server shutting down") }
            return true
        }
    }

    private func unregister(_ connection: ServerConnection) {
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
    }
}

/// What the channel initializer hands the accept loop for each new connection.
private struct AcceptedConnection: Sendable {
    var channel: NIOAsyncChannel<[FrameDecoder.Output], Never>
    var writer: FrameWriter
    /// The executor the connection's calls run on (nil: the global pool); the writer knows it too.
    var executor: EventLoopTaskExecutor?
}
