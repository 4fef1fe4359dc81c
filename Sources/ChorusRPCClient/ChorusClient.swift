public import ChorusCore
import ChorusWire
public import Logging
public import NIOCore
public import NIOPosix
import Synchronization

/// The Swift client library for a Chorus server.
///
/// One `ChorusClient` runs any number of concurrent calls over a few connections: it connects on
/// first use, opens another connection when every open one is at the concurrency limit the
/// server announced (up to ``Configuration/maxConnections``; beyond that calls queue for a
/// slot), and connects again after a connection is lost or drained by the server.
///
/// ```swift
/// let client = ChorusClient(host: "127.0.0.1", port: 7070)
/// defer { client.close() }
/// for try await event in client.analyze(AnalyzeRequest(query: "What happens?", models: ["gemini", "pegasus"])) {
///     if case .textGeneration(let chunk) = event.payload { print(chunk.model, chunk.text) }
/// }
/// ```
/// Cancelling the task that iterates cancels the call on the server. Errors are ``ChorusError``s.
public final class ChorusClient: Sendable {
    private struct State {
        var connections: [ClientConnection] = []
        var connecting: Task<ClientConnection, any Error>?
        var closed = false
    }

    public let host: String
    public let port: Int
    public let configuration: Configuration
    let logger: Logger
    private let group: any EventLoopGroup
    private let state = Mutex(State())

    public init(
        host: String,
        port: Int,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "chorus.client", factory: { _ in SwiftLogNoOpLogHandler() }),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.host = host
        self.port = port
        self.configuration = configuration
        self.logger = logger
        self.group = eventLoopGroup
    }

    /// Streams the events of an Analyze call. The call starts when iteration starts.
    public func analyze(_ request: AnalyzeRequest, options: CallOptions = CallOptions()) -> AnalyzeStream {
        AnalyzeStream(client: self, request: request, options: options)
    }

    /// The server's model registry.
    public func listModels(options: CallOptions = CallOptions()) async throws -> [ModelInfo] {
        let payload = try await unary(ChorusMethod.listModels, request: ListModelsRequest(), options: options)
        return try ListModelsResponse(decoding: payload).models
    }

    /// The server's health.
    public func health(options: CallOptions = CallOptions()) async throws -> HealthReport {
        let payload = try await unary(ChorusMethod.health, request: HealthRequest(), options: options)
        return try HealthReport(decoding: payload)
    }

    /// Measures a PING round trip on the current connection (connecting first if needed).
    public func ping() async throws -> Duration {
        try await connection().ping()
    }

    /// Closes the connections; running calls fail with UNAVAILABLE. The client cannot be used afterwards.
    public func close() {
        let (connections, connecting) = state.withLock { state in
            state.closed = true
            defer {
                state.connections = []
                state.connecting = nil
            }
            return (state.connections, state.connecting)
        }
        connecting?.cancel()
        for connection in connections { connection.close() }
    }

    // MARK: Internals

    /// Opens a call, retrying on a fresh connection when the server refused it unprocessed.
    func startCall(method: String, request: some WireMessage, options: CallOptions, deliver: ClientCall.Deliver? = nil) async throws -> ClientCall {
        var attempts = 0
        while true {
            do {
                let (connection, slotHeld) = try await connectionForCall()
                let call = try await connection.startCall(method: method, request: request, options: options, slotHeld: slotHeld, deliver: deliver)
                if let timeout = options.timeout { call.scheduleDeadline(after: timeout) }
                return call
            } catch let refused as RefusedCall {
                attempts += 1
                if attempts > configuration.transparentRetries { throw refused.error }
            }
        }
    }

    /// A usable connection (for a PING), connecting first if there is none.
    func connection() async throws -> ClientConnection {
        while true {
            if let connection = try state.withLock({ state throws -> ClientConnection? in
                if state.closed { throw ChorusError(.unavailable, "the client is closed", retryable: false) }
                return state.connections.first { $0.isUsable }
            }) {
                return connection
            }
            try await openConnection()
        }
    }

    /// A connection for a new call. With `slotHeld` the call's slot under the server's limit is
    /// already taken there; otherwise every connection was full and none may be added, and the
    /// call queues on the least busy one.
    func connectionForCall() async throws -> (ClientConnection, slotHeld: Bool) {
        while true {
            enum Next { case ready(ClientConnection), queue(ClientConnection), open }
            let next: Next = try state.withLock { state in
                if state.closed { throw ChorusError(.unavailable, "the client is closed", retryable: false) }
                state.connections.removeAll { !$0.isUsable }
                for connection in state.connections where connection.tryAcquireSlot() { return .ready(connection) }
                if state.connecting != nil || state.connections.count < configuration.maxConnections { return .open }
                return .queue(state.connections.min { $0.load < $1.load }!)
            }
            switch next {
            case .ready(let connection): return (connection, true)
            case .queue(let connection): return (connection, false)
            case .open: try await openConnection()
            }
        }
    }

    /// Opens one more connection, or waits for the one being opened; either way it joins
    /// `connections` (callers then look again: others may have taken its slots).
    private func openConnection() async throws {
        let task: Task<ClientConnection, any Error> = try state.withLock { state in
            if state.closed { throw ChorusError(.unavailable, "the client is closed", retryable: false) }
            if let connecting = state.connecting { return connecting }
            let (host, port, configuration, group, logger) = (self.host, self.port, self.configuration, self.group, self.logger)
            let onIdle: @Sendable (ClientConnection) -> Void = { [weak self] connection in self?.closeIdle(connection) }
            let task = Task {
                try await ClientConnection.connect(host: host, port: port, configuration: configuration, group: group, logger: logger, onIdle: onIdle)
            }
            state.connecting = task
            return task
        }
        do {
            let connection = try await task.value
            let closed = state.withLock { state -> Bool in
                if state.connecting == task {
                    state.connecting = nil
                    if !state.closed { state.connections.append(connection) }
                }
                return state.closed
            }
            if closed { connection.close() }
        } catch {
            state.withLock { state in
                if state.connecting == task { state.connecting = nil }
            }
            throw ChorusError(from: error)
        }
    }

    /// Closes a connection that ran no call for `idleConnectionTimeout`, unless it is the last
    /// usable one: a client that is used now and then keeps one warm connection, and the extra
    /// ones a burst opened go away.
    private func closeIdle(_ connection: ClientConnection) {
        let close = state.withLock { state -> Bool in
            guard !state.closed,
                  state.connections.contains(where: { $0 !== connection && $0.isUsable }),
                  connection.retireIfIdle() else { return false }
            state.connections.removeAll { $0 === connection }
            return true
        }
        guard close else { return }
        logger.debug("closing idle connection", metadata: ["target": "\(host):\(port)"])
        connection.close()
    }

    private func unary(_ method: String, request: some WireMessage, options: CallOptions) async throws -> ByteBuffer {
        var attempts = 0
        while true {
            var reader = ClientCallReader(call: try await startCall(method: method, request: request, options: options))
            do {
                guard let payload = try await reader.next() else {
                    throw ChorusError(.internal, "server ended \(method) without a response message")
                }
                // Wait for CALL_END so a failure after the message is not lost.
                while try await reader.next() != nil {}
                return payload
            } catch let refused as RefusedCall {
                attempts += 1
                if attempts > configuration.transparentRetries { throw refused.error }
            }
        }
    }
}
