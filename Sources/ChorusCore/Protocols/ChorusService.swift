public import Logging

/// The service every transport serves: the RPC server, the HTTP bridge and the client library
/// all speak in terms of this protocol, so none of them knows how answers are produced.
///
/// ```swift
/// let service: any ChorusService = orchestrator          // in-process
/// let service: any ChorusService = ChorusClient(...)    // or a remote chorusd
/// try await service.analyze(request, context: context, sink: sink)
/// ```
public protocol ChorusService: Sendable {
    /// Runs `request` and appends every event to `sink` in stream order.
    ///
    /// A request the service cannot accept throws a ``ChorusError`` before any event is appended.
    /// Once `start` is appended the call always ends with `complete`, unless the task is cancelled,
    /// in which case it throws `CancellationError` (or a ``ChorusError`` with ``ChorusError/Code/cancelled``).
    func analyze(_ request: AnalyzeRequest, context: CallContext, sink: some AnalyzeEventSink) async throws

    func listModels(context: CallContext) async throws -> [ModelInfo]

    func health(context: CallContext) async throws -> HealthReport
}

/// Receives the events of one Analyze call.
///
/// The producer calls ``append(_:)`` from several tasks but never concurrently (it holds its own
/// ordering lock), in `seq` order, and then awaits ``waitForCapacity()`` outside that lock. That
/// split keeps ordering cheap and still lets a slow consumer hold every producer back.
public protocol AnalyzeEventSink: Sendable {
    /// Buffers one event. Must not block or suspend.
    func append(_ event: AnalyzeEvent)

    /// Buffers events that arrived together, in order (a transport hands over one socket read's
    /// worth). Must not block or suspend. The default appends them one by one; a sink that wakes
    /// a reader per append can override it to wake once.
    func append(contentsOf events: [AnalyzeEvent])

    /// Suspends while the consumer is behind. Throws when the consumer is gone or the task is cancelled.
    func waitForCapacity() async throws

    /// True when the consumer has room now, so ``waitForCapacity()`` would return at once: a producer
    /// that appends from a timer's callback rather than from a task checks this and calls
    /// ``waitForCapacity()`` only when it is false. The default is false (always wait), which is
    /// correct for any sink, only slower.
    var hasCapacity: Bool { get }
}

/// Facts about one call that transports pass to the service.
public struct CallContext: Sendable {
    /// Request metadata (e.g. `authorization`), keys lowercased.
    public var metadata: [(key: String, value: String)]
    /// When the caller stops waiting, measured on the continuous clock.
    public var deadline: ContinuousClock.Instant?
    /// The remote peer, e.g. `ipv4:127.0.0.1:53122`, when known.
    public var peer: String?
    public var logger: Logger

    public init(
        metadata: [(key: String, value: String)] = [],
        deadline: ContinuousClock.Instant? = nil,
        peer: String? = nil,
        logger: Logger = Logger(label: "chorus", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        self.logger = logger
    }

    /// The first value of metadata `key`.
    public func metadata(_ key: String) -> String? {
        metadata.first(where: { $0.key == key })?.value
    }
}

extension AnalyzeEventSink {
    public var hasCapacity: Bool { false }

    public func append(contentsOf events: [AnalyzeEvent]) {
        for event in events { append(event) }
    }
}
