import ArgumentParser
import BenchKit
import ChorusCore
import ChorusHTTPBridge
import ChorusOrchestrator
import ChorusProviders
import ChorusRPCClient
import ChorusRPCServer
import ChorusWire
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging

/// `chorus-bench serve-chorus`: a ChorusRPCServer (and optionally the HTTP bridge) in its own process.
///
/// Without `--registry` it serves the bench-only ``BenchChorusService`` (synthetic streams as fast
/// as the sink accepts them). With `--registry FILE` it serves the real `Orchestrator` over that
/// registry (demo models, or an OpenAI-compatible model pointing at the fake upstream), wired the
/// way `chorusd` wires it. `--http` adds the SSE bridge on the same service; the child then
/// announces `LISTENING <rpc port> <http port>`.
struct ServeChorus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-chorus",
        abstract: "Internal: serve Chorus RPC (and --http: the SSE bridge) on 127.0.0.1 (prints 'LISTENING <port> [<http port>]')."
    )

    @Option(help: "RPC port (0 picks a free one).") var port = 0
    @Option(help: "Serve the orchestrator over this registry file instead of the bench service.") var registry: String?
    @Option(help: "Serve a ChorusClient of the Chorus RPC server on this port instead: the bridge in front of a remote chorusd, wired as `chorusd bridge --upstream` wires it.")
    var upstream: Int?
    @Flag(help: "Also run the HTTP/SSE bridge on a free port.") var http = false
    @Option(help: "Most concurrent calls per RPC connection.") var maxCallsPerConnection = 100
    @Option(help: "Most concurrent calls through the bridge.") var maxBridgeCalls = 1000
    @Option(help: "Where RPC calls run: event-loop or global-pool (ChorusRPCServer.CallExecutor).") var callExecutor = "event-loop"
    @Option(help: "Most times a flush (RPC and SSE) waits behind the calls' queued jobs (0: flush on the loop's next pass).")
    var flushMaxPasses = FlushCoalescing().maxPasses
    @Option(help: "Longest a flush waits for more output of the same burst, in microseconds.")
    var flushMaxDelayUs = Int(FlushCoalescing().maxDelay / .microseconds(1))

    func run() async throws {
        let logger = Logger(label: "bench.chorus", factory: { _ in SwiftLogNoOpLogHandler() })
        let service: any ChorusService
        if let upstream {
            service = ChorusClient(host: "127.0.0.1", port: upstream, configuration: .forwarding)
        } else if let registry {
            let context = ProviderContext(environment: [:], mediaRoot: nil, logger: logger)
            let models = try RegistryLoader.load(path: registry, context: context)
            service = Orchestrator(registry: models, limits: ServiceLimits(maxModelsPerCall: 8), logger: logger)
        } else {
            service = BenchChorusService()
        }
        var rpc = ChorusRPCServer.Configuration(host: "127.0.0.1", port: port)
        rpc.maxConcurrentCallsPerConnection = maxCallsPerConnection
        rpc.maxConnections = 100_000
        guard let executor = ChorusRPCServer.CallExecutor(rawValue: callExecutor) else {
            throw ValidationError("unknown --call-executor '\(callExecutor)'")
        }
        rpc.callExecutor = executor
        rpc.flushCoalescing.maxPasses = flushMaxPasses
        rpc.flushCoalescing.maxDelay = .microseconds(flushMaxDelayUs)
        let server = ChorusRPCServer(service: service, configuration: rpc, logger: logger)
        let bridge = http
            ? ChorusHTTPBridge(
                service: service,
                configuration: ChorusHTTPBridge.Configuration(
                    host: "127.0.0.1", port: 0, maxConcurrentCalls: maxBridgeCalls, flushCoalescing: rpc.flushCoalescing),
                logger: logger
            )
            : nil
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run() }
            if let bridge { group.addTask { try await bridge.run() } }
            guard let bound = await server.listeningAddress?.port else { throw BenchError("chorus server did not bind") }
            if let bridge {
                guard let httpPort = await bridge.listeningPort else { throw BenchError("HTTP bridge did not bind") }
                ServerProcess.announceAndWatchParent(port: bound, httpPort)
            } else {
                ServerProcess.announceAndWatchParent(port: bound)
            }
        }
    }
}

/// `chorus-bench serve-grpc`: a grpc-swift-2 server (HTTP/2 NIO transport, plaintext) serving ``TickerService``.
struct ServeGRPC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-grpc",
        abstract: "Internal: serve the Ticker service over grpc-swift-2 on 127.0.0.1 (prints 'LISTENING <port>')."
    )

    @Option(help: "Port (0 picks a free one).") var port = 0

    func run() async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
            services: [TickerService()]
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            guard let bound = try await server.listeningAddress?.ipv4?.port else { throw BenchError("gRPC server did not bind") }
            ServerProcess.announceAndWatchParent(port: bound)
        }
    }
}
