import ChorusCore
import ChorusRPCClient
import ChorusRPCServer
import ChorusWire
import Logging
import NIOCore
import Synchronization
import Testing

@Suite("Streaming: backpressure, drain, reconnect")
struct StreamingTests {
    static func port0() -> ChorusRPCServer.Configuration { ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0) }

    @Test("a slow reader holds the producer back: production stops at the flow-control window")
    func slowReaderBounded() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.port0()) { _, port in
            try await withClient(port: port) { client in
                let window = 64 * 1024
                let iterator = client.analyze(AnalyzeRequest(query: "flood:100000"), options: CallOptions(window: window)).makeAsyncIterator()
                _ = try await iterator.next()
                // Stop reading. The server may run ahead by one window of ~50-byte frames, no more.
                try await Task.sleep(for: .milliseconds(300))
                let stalled = service.observations.withLock { $0.produced }
                try await Task.sleep(for: .milliseconds(300))
                let later = service.observations.withLock { $0.produced }
                #expect(stalled == later, "production must stop while the client is not reading")
                #expect(stalled < window / 30 + 10, "produced \(stalled) events with a \(window)-byte window")
                // Resume: everything arrives, in order, nothing lost or duplicated.
                var expected: UInt64 = 2
                while let event = try await iterator.next() {
                    #expect(event.seq == expected)
                    expected += 1
                }
                #expect(expected == 100_001)
            }
        }
    }

    @Test("a peer that never reads its socket cannot grow server memory past the window")
    func rawPeerNeverReads() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.port0()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            defer { peer.close() }
            try await peer.sendPreface()
            let start = CallStartMessage(method: ChorusMethod.analyze, initialWindow: 256 * 1024, request: AnalyzeRequest(query: "flood:1000000").encoded())
            try await peer.sendFrame(.callStart, streamID: 1, start)
            try await Task.sleep(for: .milliseconds(500))
            let produced = service.observations.withLock { $0.produced }
            try await Task.sleep(for: .milliseconds(300))
            #expect(service.observations.withLock { $0.produced } == produced)
            #expect(produced < (256 * 1024) / 30 + 10)
        }
    }

    @Test("sequence numbers are contiguous under many concurrent streams on one connection")
    func contiguousSeqUnderConcurrency() async throws {
        try await withServer(service: ConformanceService(), configuration: Self.port0()) { _, port in
            try await withClient(port: port) { client in
                try await withThrowingTaskGroup(of: [UInt64].self) { group in
                    for _ in 0..<20 {
                        group.addTask { try await collect(client.analyze(AnalyzeRequest(query: "flood:2000"))).map(\.seq) }
                    }
                    for try await seqs in group { #expect(seqs == Array(1...2000)) }
                }
            }
        }
    }

    @Test("graceful shutdown lets a running call finish and then stops the server")
    func drainLetsCallsFinish() async throws {
        let service = ConformanceService()
        try await withServer(service: service, configuration: Self.port0()) { server, port in
            try await withClient(port: port) { client in
                async let events = collect(client.analyze(AnalyzeRequest(query: "interval:30 sizes:1,1,1,1,1,1,1,1")))
                _ = try await service.wait { $0.produced >= 2 }
                server.beginGracefulShutdown()
                #expect(try await events.count == 8)
                await #expect(throws: ChorusError.self) { _ = try await client.health() }
            }
        }
    }

    @Test("calls still running when the drain grace period ends get UNAVAILABLE")
    func drainGraceExpires() async throws {
        let service = ConformanceService()
        var configuration = Self.port0()
        configuration.drainGracePeriod = .milliseconds(200)
        try await withServer(service: service, configuration: configuration) { server, port in
            try await withClient(port: port) { client in
                async let result: [AnalyzeEvent] = collect(client.analyze(AnalyzeRequest(query: "sleep")))
                _ = try await service.wait { $0.started == 1 }
                server.beginGracefulShutdown()
                do {
                    _ = try await result
                    Issue.record("expected UNAVAILABLE")
                } catch let error as ChorusError {
                    #expect(error.code == .unavailable)
                    #expect(error.message.contains("server shutting down"))
                }
            }
        }
    }

    @Test("the client reconnects after losing its connection")
    func reconnect() async throws {
        let service = ConformanceService()
        let port = try await withServer(service: service, configuration: Self.port0()) { _, port in port }
        var configuration = Self.port0()
        configuration.port = port
        let client = ChorusClient(host: "127.0.0.1", port: port)
        defer { client.close() }
        try await withServer(service: service, configuration: configuration, keepPort: true) { _, _ in
            let count = try await collect(client.analyze(AnalyzeRequest(query: "sizes:1"))).count
            #expect(count == 1)
        }
        await #expect(throws: ChorusError.self) { _ = try await collect(client.analyze(AnalyzeRequest(query: "sizes:1"))) }
        try await withServer(service: service, configuration: configuration, keepPort: true) { _, _ in
            let count = try await collect(client.analyze(AnalyzeRequest(query: "sizes:1"))).count
            #expect(count == 1)
        }
    }

    @Test("the connection limit is enforced with a clear reason")
    func connectionLimit() async throws {
        var configuration = Self.port0()
        configuration.maxConnections = 1
        try await withServer(service: ConformanceService(), configuration: configuration) { _, port in
            try await withClient(port: port) { first in
                #expect(try await first.health().status == .serving)
                let second = ChorusClient(host: "127.0.0.1", port: port)
                defer { second.close() }
                do {
                    _ = try await second.health()
                    Issue.record("expected the second connection to be refused")
                } catch let error as ChorusError {
                    #expect(error.code == .resourceExhausted)
                    #expect(error.message.contains("connection limit of 1"))
                }
            }
        }
    }
}
