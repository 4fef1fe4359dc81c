extension ChorusClient {
    /// Client-side limits and timeouts.
    public struct Configuration: Sendable {
        /// Time allowed for TCP connect plus the preface exchange.
        public var connectTimeout: Duration
        /// Largest frame payload accepted from the server.
        public var maxFramePayload: Int
        /// Flow-control window granted per call: at most this many bytes of one call's events are
        /// buffered in the client when the application reads slowly.
        public var callWindow: Int
        /// Calls refused without being processed (server draining, GOAWAY) are retried this many
        /// times on a new connection.
        public var transparentRetries: Int
        /// Most connections open at once. Another is opened only when every open one runs as many
        /// calls as the server allows per connection (chorusd: 100 by default); past this many,
        /// new calls wait for a slot on the least busy connection.
        public var maxConnections: Int
        /// A connection that has run no call for this long is closed, unless it is the client's
        /// only one: the connections a burst needed past the first do not stay open for good.
        /// nil keeps every connection until ``ChorusClient/close()``.
        public var idleConnectionTimeout: Duration?

        public init(
            connectTimeout: Duration = .seconds(10),
            maxFramePayload: Int = 4 * 1024 * 1024,
            callWindow: Int = 1024 * 1024,
            transparentRetries: Int = 2,
            maxConnections: Int = 8,
            idleConnectionTimeout: Duration? = .seconds(30)
        ) {
            precondition(maxConnections >= 1, "maxConnections must be at least 1")
            self.connectTimeout = connectTimeout
            self.maxFramePayload = maxFramePayload
            self.callWindow = callWindow
            self.transparentRetries = transparentRetries
            self.maxConnections = maxConnections
            self.idleConnectionTimeout = idleConnectionTimeout
        }

        /// For a process that forwards a remote chorusd's calls to clients of its own, as
        /// `chorusd bridge --upstream` does through ``ChorusClient/analyze(_:context:sink:)``.
        ///
        /// Credit goes back to chorusd only while the forwarding sink has room, so one call window
        /// is what a stalled downstream client can still make the forwarder hold per call: 64 KiB
        /// is ~1,500 token events, where the 1 MiB default would be ~20,000, and on loopback or a
        /// LAN it does not limit a stream's rate. Up to 64 connections, since chorusd runs 100
        /// calls per connection by default and a bridge accepts up to 1,000.
        public static var forwarding: Configuration {
            Configuration(callWindow: 64 * 1024, maxConnections: 64)
        }
    }
}
