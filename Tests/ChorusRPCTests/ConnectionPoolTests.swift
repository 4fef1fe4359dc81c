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

    /// Runs six sleeping calls at once (three connections at two calls each) and cancels them.
    static func burst(_ client: ChorusClient, service: ConformanceService) async throws {
        try await withThrowingTaskGroup(of: Int.self) { group in
            let before = service.observations.withLock { $0.started }
            for _ in 0..<6 {
                group.addTask { try await collect(client.analyze(AnalyzeRequest(query: "sizes:1 sleep"))).count }
            }
            _ = try await service.wait { $0.started >= before + 6 }
            group.cancelAll()
            while let _ = try? await group.next() {}
        }
    }

    /// Polls the server's connection count until it is `expected` (or ten seconds pass).
    static func connections(of server: ChorusRPCServer, reach expected: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        while server.connectionCount != expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        return server.connectionCount
    }

    @Test("connections a burst opened close after idleConnectionTimeout; the last one stays and the pool grows again")
    func idleConnectionsClose() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.server(callsPerConnection: 2)) { server, port in
            let configuration = ChorusClient.Configuration(maxConnections: 3, idleConnectionTimeout: .milliseconds(200))
            try await withClient(port: port, configuration: configuration) { client in
                try await Self.burst(client, service: service)
                #expect(Set(service.observations.withLock { $0.peers }).count == 3)
                #expect(try await Self.connections(of: server, reach: 1) == 1)
                // Several timeouts later the last connection is still open and serves calls.
                try await Task.sleep(for: .milliseconds(700))
                #expect(server.connectionCount == 1)
                #expect(try await collect(client.analyze(AnalyzeRequest(query: "sizes:1,2"))).count == 2)
                // The next burst opens two new connections again.
                try await Self.burst(client, service: service)
                #expect(Set(service.observations.withLock { $0.peers }).count == 5)
                #expect(try await Self.connections(of: server, reach: 1) == 1)
            }
        }
    }

    @Test("without idleConnectionTimeout the connections a burst opened stay open")
    func idleConnectionsStayWithoutTimeout() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.server(callsPerConnection: 2)) { server, port in
            let configuration = ChorusClient.Configuration(maxConnections: 3, idleConnectionTimeout: nil)
            try await withClient(port: port, configuration: configuration) { client in
                try await Self.burst(client, service: service)
                try await Task.sleep(for: .milliseconds(500))
                #expect(server.connectionCount == 3)
            }
        }
    }

    @Test("calls racing connections that idle out after 1 ms all succeed")
    func callsRaceIdleClose() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.server(callsPerConnection: 2)) { _, port in
            let configuration = ChorusClient.Configuration(maxConnections: 4, idleConnectionTimeout: .milliseconds(1))
            try await withClient(port: port, configuration: configuration) { client in
                for round in 0..<150 {
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for _ in 0..<(1 + round % 7) {
                            group.addTask { try await collect(client.analyze(AnalyzeRequest(query: "sizes:1,2,3"))).count }
                        }
                        for try await count in group { #expect(count == 3) }
                    }
                    if round % 5 == 0 { try await Task.sleep(for: .milliseconds(3)) }
                }
                #expect(Set(service.observations.withLock { $0.peers }).count > 1, "connections were closed and reopened")
            }
        }
    }
}
