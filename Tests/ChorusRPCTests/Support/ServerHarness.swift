import ChorusCore
import ChorusRPCClient
import ChorusRPCServer
import Logging
import NIOCore

/// Runs a real server on a loopback port for the duration of `body`.
func withServer<Result: Sendable>(
    service: any ChorusService,
    configuration: ChorusRPCServer.Configuration = ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0),
    keepPort: Bool = false,
    _ body: @Sendable (ChorusRPCServer, Int) async throws -> Result
) async throws -> Result {
    var configuration = configuration
    // Tests bind port 0 (a free port) unless they need a specific one, e.g. to restart a server.
    if !keepPort { configuration.port = 0 }
    let server = ChorusRPCServer(service: service, configuration: configuration, logger: Logger(label: "test.server", factory: { _ in SwiftLogNoOpLogHandler() }))
    return try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask {
            try await server.run()
            return nil
        }
        guard let port = await server.listeningAddress?.port else {
            group.cancelAll()
            throw ChorusError(.unavailable, "test server did not bind")
        }
        let result = try await body(server, port)
        server.beginGracefulShutdown()
        group.cancelAll()
        return result
    }
}

/// A client for `port` whose connection is closed when `body` ends.
func withClient<Result: Sendable>(
    port: Int,
    configuration: ChorusClient.Configuration = ChorusClient.Configuration(),
    _ body: (ChorusClient) async throws -> Result
) async throws -> Result {
    let client = ChorusClient(host: "127.0.0.1", port: port, configuration: configuration)
    defer { client.close() }
    return try await body(client)
}

/// Collects every event of a call.
func collect(_ stream: AnalyzeStream) async throws -> [AnalyzeEvent] {
    var events: [AnalyzeEvent] = []
    for try await event in stream { events.append(event) }
    return events
}

extension AnalyzeEvent {
    var text: String? {
        if case .textGeneration(let chunk) = payload { return chunk.text }
        return nil
    }
}
