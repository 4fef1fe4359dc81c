import BenchKit

/// The two implementations every scenario compares.
enum Side: String, CaseIterable, Sendable {
    case chorus
    case grpc

    var displayName: String {
        switch self {
        case .chorus: "Chorus RPC"
        case .grpc: "grpc-swift-2"
        }
    }

    /// Starts this side's server in its own process.
    func launchServer() throws -> ServerProcess {
        switch self {
        case .chorus: try ServerProcess.launch(subcommand: ServeChorus.configuration.commandName!)
        case .grpc: try ServerProcess.launch(subcommand: ServeGRPC.configuration.commandName!)
        }
    }

    /// A client in this process, connected lazily to `port`.
    func makeClient(port: Int) throws -> any StreamClient {
        switch self {
        case .chorus: ChorusStreamClient(port: port)
        case .grpc: try GRPCStreamClient(port: port)
        }
    }
}

/// A server process plus a client connected to it.
struct Endpoint: Sendable {
    let side: Side
    let server: ServerProcess
    let client: any StreamClient

    static func start(_ side: Side) throws -> Endpoint {
        let server = try side.launchServer()
        do {
            return Endpoint(side: side, server: server, client: try side.makeClient(port: server.port))
        } catch {
            server.stop()
            throw error
        }
    }

    func stop() async {
        await client.close()
        server.stop()
    }
}

extension Duration {
    var secondsDouble: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
