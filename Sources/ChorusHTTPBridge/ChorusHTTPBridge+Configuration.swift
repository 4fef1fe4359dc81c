public import ChorusWire

extension ChorusHTTPBridge {
    /// Every limit of the HTTP bridge, each with a production default.
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port (see ``ChorusHTTPBridge/listeningPort``).
        public var port: Int
        /// Largest accepted request body; larger bodies get 413.
        public var maxBodyBytes: Int
        /// Origins allowed to call the API cross-origin (exact `scheme://host[:port]`, or `*`).
        /// Empty: same origin only.
        public var allowedOrigins: [String]
        /// A `: ping` comment is sent when a stream has been quiet this long.
        public var heartbeatInterval: Duration
        /// Finished calls stay resumable (Last-Event-ID) this long.
        public var replayRetention: Duration
        /// Bytes of encoded events kept per call for resumption.
        public var replayMaxBytes: Int
        /// Bytes of encoded events kept by all finished calls together; past it the oldest finished
        /// calls are forgotten before their retention ends (a late resume then gets 404). Each
        /// kept call also costs a few KB of bookkeeping, which ``replayMaxCalls`` bounds.
        public var replayMaxTotalBytes: Int
        /// Most finished calls kept for resumption; past it the oldest are forgotten.
        public var replayMaxCalls: Int
        /// Most events a call may run ahead of its slowest attached client before the models wait.
        public var maxClientLag: Int
        /// Most calls running at once; further calls get 429 with Retry-After.
        public var maxConcurrentCalls: Int
        /// Seconds suggested in Retry-After when limited.
        public var retryAfterSeconds: Int
        /// A kept-alive connection with no request in progress is closed after this long (a
        /// streaming response is a request in progress, however quiet). nil keeps idle connections.
        public var idleConnectionTimeout: Duration?
        /// How long a running call outlives its last client, so that a client whose connection
        /// dropped can reconnect with `Last-Event-ID` and continue. Zero (the default) stops the
        /// models the moment the last client leaves, so a client that is gone costs nothing.
        public var resumeGracePeriod: Duration
        /// How long running calls may continue once a graceful shutdown began (new calls get 503
        /// meanwhile). Calls still running then end with a retryable UNAVAILABLE `error` event, so
        /// the process stops within a bound its supervisor can count on (the RPC server's
        /// ``ChorusRPCServer/Configuration/drainGracePeriod`` does the same for its calls).
        public var drainGracePeriod: Duration
        /// How long a stream woken by new events waits for more of the same burst before writing
        /// (see ``ChorusWire/FlushCoalescing``). Unless `.immediate`, a connection also sends what
        /// one pass of its event loop wrote in one write (the response head with the call's
        /// line-up, the last events with the end of the response), unless its loop is so busy
        /// that such a wait took longer than `maxDelay`; `.immediate` writes what is there at once.
        public var flushCoalescing: FlushCoalescing
        /// Connections the kernel queues until the bridge accepts them (`listen(2)`'s backlog,
        /// capped by `net.core.somaxconn`). A burst of connections beyond it loses SYNs, and those
        /// clients wait for TCP's retransmissions (1 s, 3 s, 7 s…).
        public var listenBacklog: Int

        public init(
            host: String = "127.0.0.1",
            port: Int = 8080,
            maxBodyBytes: Int = 64 * 1024,
            allowedOrigins: [String] = [],
            heartbeatInterval: Duration = .seconds(15),
            replayRetention: Duration = .seconds(60),
            replayMaxBytes: Int = 1024 * 1024,
            replayMaxTotalBytes: Int = 256 * 1024 * 1024,
            replayMaxCalls: Int = 10_000,
            maxClientLag: Int = 512,
            maxConcurrentCalls: Int = 1000,
            retryAfterSeconds: Int = 1,
            idleConnectionTimeout: Duration? = .seconds(75),
            resumeGracePeriod: Duration = .zero,
            drainGracePeriod: Duration = .seconds(30),
            flushCoalescing: FlushCoalescing = .init(),
            listenBacklog: Int = 4096
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.allowedOrigins = allowedOrigins
            self.heartbeatInterval = heartbeatInterval
            self.replayRetention = replayRetention
            self.replayMaxBytes = replayMaxBytes
            self.replayMaxTotalBytes = replayMaxTotalBytes
            self.replayMaxCalls = replayMaxCalls
            self.maxClientLag = maxClientLag
            self.maxConcurrentCalls = maxConcurrentCalls
            self.retryAfterSeconds = retryAfterSeconds
            self.idleConnectionTimeout = idleConnectionTimeout
            self.resumeGracePeriod = resumeGracePeriod
            self.drainGracePeriod = drainGracePeriod
            self.flushCoalescing = flushCoalescing
            self.listenBacklog = listenBacklog
        }
    }
}
