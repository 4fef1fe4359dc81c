/// A model as listed by `ListModels` and `/api/models`.
public struct ModelInfo: Sendable, Hashable {
    public var name: String
    /// Provider kind, e.g. `demo`.
    public var provider: String
    /// True when the model is served by the offline demo provider rather than a real API.
    public var demo: Bool
    /// False when the model is configured but cannot currently be used (e.g. its API key is missing).
    public var available: Bool
    public var upstreamModel: String
    public var description: String

    public init(name: String, provider: String, demo: Bool, available: Bool = true, upstreamModel: String = "", description: String = "") {
        self.name = name
        self.provider = provider
        self.demo = demo
        self.available = available
        self.upstreamModel = upstreamModel
        self.description = description
    }
}

/// The answer of the `Health` method.
public struct HealthReport: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        case serving
        case notServing
        case unknown
    }

    public var status: Status
    public var version: String
    public var uptime: Duration
    public var activeCalls: Int

    public init(status: Status, version: String, uptime: Duration, activeCalls: Int) {
        self.status = status
        self.version = version
        self.uptime = uptime
        self.activeCalls = activeCalls
    }
}
