/// Limits on what one Analyze request may ask for. Every limit is explicit and configurable.
public struct ServiceLimits: Sendable, Hashable {
    /// Longest accepted query, in characters.
    public var maxQueryLength: Int
    /// Most models one call may run.
    public var maxModelsPerCall: Int
    /// Longest accepted `request_id`, in bytes.
    public var maxRequestIDLength: Int

    public init(maxQueryLength: Int = 8_000, maxModelsPerCall: Int = 8, maxRequestIDLength: Int = 128) {
        self.maxQueryLength = maxQueryLength
        self.maxModelsPerCall = maxModelsPerCall
        self.maxRequestIDLength = maxRequestIDLength
    }
}
