import ArgumentParser
import BenchKit
import ChorusCore
import ChorusRPCServer
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging

/// `chorus-bench serve-chorus`: a ChorusRPCServer serving ``BenchChorusService`` (run by the parent).
struct ServeChorus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-chorus",
        abstract: "Internal: serve the bench ChorusService over Chorus RPC on 127.0.0.1 (prints 'LISTENING <port>')."
    )

    @Option(help: "Port (0 picks a free one).") var port = 0

    func run() async throws {
        let server = ChorusRPCServer(
            service: BenchChorusService(),
            configuration: ChorusRPCServer.Configuration(host: "127.0.0.1", port: port),
            logger: Logger(label: "bench.chorus", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run() }
            guard let bound = await server.listeningAddress?.port else { throw BenchError("chorus server did not bind") }
            ServerProcess.announceAndWatchParent(port: bound)
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
