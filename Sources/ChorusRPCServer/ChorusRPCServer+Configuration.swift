public import ChorusWire

extension ChorusRPCServer {
    /// Where a connection's calls (and the models they run) execute.
    public enum CallExecutor: String, Sendable, CaseIterable {
        /// On the connection's event loop (see ``ChorusWire/EventLoopTaskExecutor``): no thread hop
        /// between producing an event and writing it, and one write per burst of events (see
        /// ``Configuration/flushCoalescing``). Least CPU per event. Calls of connections that share a loop share its
        /// thread, so one call's CPU-heavy work delays the others' I/O on that loop, and a loop
        /// that is handed work faster than it can run it (the machine is overloaded) reads its
        /// sockets only between bursts: new calls and CANCEL frames wait behind running calls.
        case eventLoop = "event-loop"
        /// On Swift's global concurrent pool: events cross to the event loop to be written, which
        /// costs a wake-up and usually a write per event, but the loops do nothing but I/O, so
        /// under overload the backlog builds up before events are produced and the sockets stay
        /// responsive.
        case globalPool = "global-pool"
    }

    /// Every limit of the RPC listener, each with a production default.
    public struct Configuration: Sendable {
        /// Address to bind; `127.0.0.1` keeps the server private to the machine.
        public var host: String
        /// Port to bind; 0 picks a free port (see ``ChorusRPCServer/listeningAddress``).
        public var port: Int
        /// Largest frame payload accepted from a client; larger frames end the connection with
        /// RESOURCE_EXHAUSTED before the body is read.
        public var maxFramePayload: Int
        /// Most calls running at once on one connection; announced to clients in SETTINGS.
        public var maxConcurrentCallsPerConnection: Int
        /// Most open connections; further connections are told why and closed.
        public var maxConnections: Int
        /// Connections the kernel queues until the server accepts them (`listen(2)`'s backlog,
        /// capped by `net.core.somaxconn`). A burst of connections beyond it loses SYNs, and those
        /// clients wait for TCP's retransmissions (1 s, 3 s, 7 s…).
        public var listenBacklog: Int
        /// Flow-control window per call when the client does not ask for one.
        public var defaultCallWindow: Int
        /// Largest window a client may ask for (bounds per-call buffering on the server).
        public var maxCallWindow: Int
        /// Outbound bytes buffered per connection before producers wait.
        public var outboundHighWatermark: Int
        /// Largest total size of a call's metadata (key + value + 32 per entry, as in HTTP/2).
        public var maxMetadataSize: Int
        /// Time a new connection has to send its preface.
        public var prefaceTimeout: Duration
        /// Idle time after which the server pings a client; nil disables keepalive.
        public var keepaliveInterval: Duration?
        /// Time to wait for a ping acknowledgement before closing the connection.
        public var keepaliveTimeout: Duration
        /// How long running calls may continue after a drain starts.
        public var drainGracePeriod: Duration
        /// When set, each connection is drained (GOAWAY) after living this long, so clients rebalance.
        public var maxConnectionAge: Duration?
        /// Where calls run; see ``CallExecutor``.
        public var callExecutor: CallExecutor
        /// How long a connection's flush may wait for more frames of the same burst (with
        /// ``CallExecutor/eventLoop``; see ``ChorusWire/FrameWriter``). `.immediate` flushes on the
        /// loop's next pass.
        public var flushCoalescing: FlushCoalescing

        public init(
            host: String = "127.0.0.1",
            port: Int = 7070,
            maxFramePayload: Int = 4 * 1024 * 1024,
            maxConcurrentCallsPerConnection: Int = 100,
            maxConnections: Int = 4096,
            listenBacklog: Int = 4096,
            defaultCallWindow: Int = 1024 * 1024,
            maxCallWindow: Int = 16 * 1024 * 1024,
            outboundHighWatermark: Int = 256 * 1024,
            maxMetadataSize: Int = 8 * 1024,
            prefaceTimeout: Duration = .seconds(10),
            keepaliveInterval: Duration? = .seconds(2 * 60 * 60),
            keepaliveTimeout: Duration = .seconds(20),
            drainGracePeriod: Duration = .seconds(30),
            maxConnectionAge: Duration? = nil,
            callExecutor: CallExecutor = .eventLoop,
            flushCoalescing: FlushCoalescing = .init()
        ) {
            self.host = host
            self.port = port
            self.maxFramePayload = maxFramePayload
            self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
            self.maxConnections = maxConnections
            self.listenBacklog = listenBacklog
            self.defaultCallWindow = defaultCallWindow
            self.maxCallWindow = maxCallWindow
            self.outboundHighWatermark = outboundHighWatermark
            self.maxMetadataSize = maxMetadataSize
            self.prefaceTimeout = prefaceTimeout
            self.keepaliveInterval = keepaliveInterval
            self.keepaliveTimeout = keepaliveTimeout
            self.drainGracePeriod = drainGracePeriod
            self.maxConnectionAge = maxConnectionAge
            self.callExecutor = callExecutor
            self.flushCoalescing = flushCoalescing
        }
    }
}
