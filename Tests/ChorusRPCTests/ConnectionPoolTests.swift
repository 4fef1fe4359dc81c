import ChorusCore
import ChorusRPCClient
import ChorusRPCServer
import Synchronization
import Testing

/// `ChorusClient` opens another connection when the server's per-connection call limit is reached.
@Suite("Client: more connections past the server's per-connection limit")
struct ConnectionPoolTests {
    static func server(callsPerConnection: Int) -> ChorusRPCServer.Configuration {
        var configuration = ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.maxConcurrentCallsPerConnection = callsPerConnection
        return configuration
    }

    @Test("calls beyond one connection's limit run at once on new connections, up to maxConnections; then they queue")
    func spreadsThenQueues() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.server(callsPerConnection: 2)) { _, port in
            try await withClient(port: port, configuration: ChorusClient.Configuration(maxConnections: 3)) { client in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<7 {
                        group.addTask { try await collect(client.analyze(AnalyzeRequest(query: "sizes:1 sleep"))).count }
                    }
                    // Six run on three connections (two each); the seventh waits for a slot.
                    let running = try await service.wait { $0.started >= 6 }
                    #expect(running.started == 6)
                    #expect(Set(running.peers).count == 3, "peers: \(running.peers)")
                    try await Task.sleep(for: .milliseconds(200))
                    #expect(service.observations.withLock { $0.started } == 6)
                    group.cancelAll()
                    while let _ = try? await group.next() {}
                }
                // Cancelled calls freed their slots: new ones run on the open connections.
                let more = try await collect(client.analyze(AnalyzeRequest(query: "sizes:1,2")))
                #expect(more.count == 2)
                #expect(Set(service.observations.withLock { $0.peers }).count == 3)
            }
        }
    }

    @Test("below the server's per-connection limit every call shares one connection")
    func oneConnectionWithoutLimit() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.server(callsPerConnection: 1_000)) { _, port in
            try await withClient(port: port) { client in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<50 {
                        group.addTask { try await collect(client.analyze(AnalyzeRequest(query: "interval:2 sizes:1,2,3"))).count }
                    }
                    for try await count in group { #expect(count == 3) }
                }
                #expect(Set(service.observations.withLock { $0.peers }).count == 1)
            }
        }
    }
}
