/// Per-call settings.
///
/// ```swift
/// let events = client.analyze(request, options: CallOptions(timeout: .seconds(30), metadata: ["authorization": "Bearer …"]))
/// ```
public struct CallOptions: Sendable {
    /// The call fails with DEADLINE_EXCEEDED when it has not finished after this long (sent to
    /// the server as a relative deadline and enforced locally as well). nil: no deadline.
    public var timeout: Duration?
    /// Request metadata; keys are lowercased.
    public var metadata: [(key: String, value: String)]
    /// Flow-control window granted to the server for this call, in bytes; nil uses the client's default.
    public var window: Int?

    public init(timeout: Duration? = nil, metadata: [(key: String, value: String)] = [], window: Int? = nil) {
        self.timeout = timeout
        self.metadata = metadata
        self.window = window
    }

    public init(timeout: Duration? = nil, metadata: [String: String], window: Int? = nil) {
        self.init(timeout: timeout, metadata: metadata.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }, window: window)
    }
}
