public import ChorusCore
import ChorusRPCClient

/// ``ChorusCLIBackend`` over the real RPC client: the only file of the command line that knows
/// `ChorusRPCClient`.
///
/// ```swift
/// let backend = ChorusClientBackend(address: try connection.resolvedAddress(environment: env))
/// for try await event in backend.analyze(request, timeout: .seconds(30)) { print(event.jsonLine()) }
/// await backend.close()
/// ```
public struct ChorusClientBackend: ChorusCLIBackend {
    private let client: ChorusClient

    /// Creates the client; it connects on first use.
    public init(address: ServerAddress) {
        self.client = ChorusClient(host: address.host, port: address.port)
    }

    /// Streams the call through `ChorusClient.analyze(_:options:)` with the timeout as the call deadline.
    public func analyze(_ request: AnalyzeRequest, timeout: Duration?) -> any AsyncSequence<AnalyzeEvent, any Error> {
        client.analyze(request, options: CallOptions(timeout: timeout))
    }

    /// `ChorusClient.listModels()`.
    public func listModels() async throws -> [ModelInfo] {
        try await client.listModels()
    }

    /// `ChorusClient.health()`.
    public func health() async throws -> HealthReport {
        try await client.health()
    }

    /// Closes the client's connection.
    public func close() async {
        client.close()
    }
}
