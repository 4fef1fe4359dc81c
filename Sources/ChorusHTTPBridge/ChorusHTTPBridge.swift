public import ChorusCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// The HTTP face of Chorus: re-emits the Analyze stream of any ``ChorusService`` as Server-Sent
/// Events under the published JSON contract, and serves the web page.
///
/// The same code path serves an in-process orchestrator (inside `chorusd`) and a remote
/// `chorusd` (through `ChorusClient`, which is also a `ChorusService`).
///
/// ```swift
/// let bridge = ChorusHTTPBridge(service: orchestrator, configuration: .init(port: 8080), logger: logger)
/// try await ServiceGroup(services: [bridge], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
///
/// A graceful shutdown closes the listener, answers requests already on a connection with 503,
/// and gives running streams ``Configuration/drainGracePeriod`` before it ends them with a
/// retryable UNAVAILABLE `error` event. A service group shuts its services down one after the
/// other: to drain the bridge and an RPC server at the same time, run them as one service (as
/// `chorusd` does), not as two services of the group.
public final class ChorusHTTPBridge: Service, Sendable {
    let service: any ChorusService
    let configuration: Configuration
    let logger: Logger
    let registry: BridgeCallRegistry
    let assets: StaticAssets
    /// The open connections' close signals (see ``ConnectionWatch``).
    let connectionWatches = ConnectionWatches()
    let eventLoopGroup: any EventLoopGroup
    private let port = Mutex<(Int?, [CheckedContinuation<Int?, Never>])>((nil, []))

    /// - Parameter eventLoopGroup: Where the HTTP server's connections (and so the calls they start) run.
    public init(
        service: any ChorusService, configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.service = service
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.registry = BridgeCallRegistry(
            service: service, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        self.assets = StaticAssets.load()
    }

    /// The bound port once listening (useful with port 0).
    public var listeningPort: Int? {
        get async {
            await withCheckedContinuation { continuation in
                let known = port.withLock { state -> Int?? in
                    if let bound = state.0 { return .some(bound) }
                    state.1.append(continuation)
                    return .none
                }
                if let known { continuation.resume(returning: known) }
            }
        }
    }

    private func bound(port bound: Int?) {
        let waiters = port.withLock { state in
            state.0 = bound
            defer { state.1 = [] }
            return state.1
        }
        for waiter in waiters { waiter.resume(returning: bound) }
    }

    /// Calls currently running through the bridge.
    public var runningCalls: Int { registry.runningCalls }

    public func run() async throws {
        let router = Router(context: BridgeRequestContext.self)
        router.add(middleware: CORSPolicy<BridgeRequestContext>(allowedOrigins: configuration.allowedOrigins))
        addRoutes(to: router)
        let watches = connectionWatches
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionWatchHandler(watches: watches)],
            idleTimeout: configuration.idleConnectionTimeout.map { TimeAmount.nanoseconds(Int64($0 / .nanoseconds(1))) }
        )
        let app = Application(
            router: router,
            server: .http1OnEventLoop(configuration: http1, flushCoalescing: configuration.flushCoalescing),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "chorus",
                backlog: configuration.listenBacklog),
            onServerRunning: { channel in
                self.bound(port: channel.localAddress?.port)
            },
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: logger
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.registry.run() }
            try await withGracefulShutdownHandler {
                try await app.run()
            } onGracefulShutdown: {
                // New calls get 503 while running streams finish (within the drain grace).
                self.registry.beginDrain()
            }
            registry.stop()
        }
    }
}
