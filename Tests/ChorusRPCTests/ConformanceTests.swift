import ChorusCore
import ChorusRPCClient
import ChorusRPCServer
import ChorusWire
import NIOCore
import Synchronization
import Testing

/// The gRPC interop cases, adapted to the Chorus protocol (see rpc-and-sse reference, §2).
@Suite("Conformance (gRPC interop cases adapted)")
struct ConformanceTests {
    @Test("server_streaming: four responses of 31415, 9, 2653 and 58979 bytes, in order, then OK")
    func serverStreaming() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                let events = try await collect(client.analyze(AnalyzeRequest(query: "sizes:31415,9,2653,58979")))
                #expect(events.map { $0.text?.utf8.count } == [31415, 9, 2653, 58979])
                #expect(events.map(\.seq) == [1, 2, 3, 4])
            }
        }
    }

    @Test("empty_stream: a call with no responses ends with OK")
    func emptyStream() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                let events = try await collect(client.analyze(AnalyzeRequest(query: "nothing")))
                #expect(events.isEmpty)
            }
        }
    }

    @Test("status_code_and_message: code 2 and the message arrive exactly")
    func statusCodeAndMessage() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                await #expect(throws: ChorusError(.unknown, "test status message")) {
                    _ = try await collect(client.analyze(AnalyzeRequest(query: "status:2:test status message")))
                }
            }
        }
    }

    @Test("special_status_message: tabs, CR/LF, BMP and non-BMP Unicode survive byte for byte")
    func specialStatusMessage() async throws {
        let message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                do {
                    _ = try await collect(client.analyze(AnalyzeRequest(query: "status:2:\(message)")))
                    Issue.record("expected an error")
                } catch let error as ChorusError {
                    #expect(error.code == .unknown)
                    #expect(Array(error.message.utf8) == Array(message.utf8))
                }
            }
        }
    }

    @Test("unimplemented_method: an unknown method gets UNIMPLEMENTED naming the known ones")
    func unimplementedMethod() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            defer { peer.close() }
            try await peer.sendPreface()
            try await peer.sendFrame(.callStart, streamID: 1, CallStartMessage(method: "/chorus.v1.Chorus/Nope", request: .init()))
            let frames = try await peer.readFrames { $0.type == .callEnd }
            let end = try CallEndMessage(decoding: frames.last!.payload)
            #expect(end.code == .unimplemented)
            #expect(end.message == "unknown method '/chorus.v1.Chorus/Nope'; this server implements /chorus.v1.Chorus/Analyze, /chorus.v1.Chorus/ListModels, /chorus.v1.Chorus/Health")
        }
    }

    @Test("unimplemented_service: an unknown service gets UNIMPLEMENTED")
    func unimplementedService() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            let peer = try await RawPeer.connect(port: port)
            defer { peer.close() }
            try await peer.sendPreface()
            try await peer.sendFrame(.callStart, streamID: 1, CallStartMessage(method: "/grpc.testing.Unknown/Call", request: .init()))
            let frames = try await peer.readFrames { $0.type == .callEnd }
            #expect(try CallEndMessage(decoding: frames.last!.payload).code == .unimplemented)
        }
    }

    @Test("cancel_after_begin: cancelling before any response ends the call and the server observes it")
    func cancelAfterBegin() async throws {
        let service = ConformanceService()
        try await withServer(service: service) { _, port in
            try await withClient(port: port) { client in
                let task = Task { try await collect(client.analyze(AnalyzeRequest(query: "sleep"))) }
                _ = try await service.wait { $0.started == 1 }
                task.cancel()
                await #expect(throws: CancellationError.self) { try await task.value }
                let observed = try await service.wait { $0.cancelled == 1 }
                #expect(observed.cancelled == 1)
            }
        }
    }

    @Test("cancel_after_first_response: the server stops producing")
    func cancelAfterFirstResponse() async throws {
        let service = ConformanceService()
        try await withServer(service: service) { _, port in
            try await withClient(port: port) { client in
                var received = 0
                for try await _ in client.analyze(AnalyzeRequest(query: "interval:20 flood:100000")) {
                    received += 1
                    break  // dropping the iterator cancels the call
                }
                #expect(received == 1)
                let observed = try await service.wait { $0.cancelled == 1 }
                #expect(observed.cancelled == 1)
                let producedAtCancel = observed.produced
                try await Task.sleep(for: .milliseconds(100))
                #expect(service.observations.withLock { $0.produced } == producedAtCancel)
            }
        }
    }

    @Test("timeout_on_sleeping_server: a 1 ms deadline gives DEADLINE_EXCEEDED")
    func timeoutOnSleepingServer() async throws {
        let service = ConformanceService()
        try await withServer(service: service) { _, port in
            try await withClient(port: port) { client in
                do {
                    _ = try await collect(client.analyze(AnalyzeRequest(query: "sleep"), options: CallOptions(timeout: .milliseconds(1))))
                    Issue.record("expected DEADLINE_EXCEEDED")
                } catch let error as ChorusError {
                    #expect(error.code == .deadlineExceeded)
                }
                // The server enforces its copy of the deadline too, cancelling the handler.
                #expect(try await service.wait { $0.cancelled == 1 }.cancelled == 1)
            }
        }
    }

    @Test("max_streams: with one concurrent call allowed, ten parallel calls on one connection all succeed")
    func maxStreams() async throws {
        var configuration = ChorusRPCServer.Configuration()
        configuration.maxConcurrentCallsPerConnection = 1
        try await withServer(service: ConformanceService(), configuration: configuration) { _, port in
            try await withClient(port: port, configuration: ChorusClient.Configuration(maxConnections: 1)) { client in
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<10 {
                        group.addTask { try await collect(client.analyze(AnalyzeRequest(query: "interval:5 sizes:1,2,3"))).count }
                    }
                    var counts: [Int] = []
                    for try await count in group { counts.append(count) }
                    #expect(counts == Array(repeating: 3, count: 10))
                }
            }
        }
    }

    @Test("goaway: after the server drains a connection, the next call succeeds on a new connection")
    func goAway() async throws {
        let service = ConformanceService()
        var configuration = ChorusRPCServer.Configuration()
        configuration.maxConnectionAge = .milliseconds(300)
        try await withServer(service: service, configuration: configuration) { _, port in
            try await withClient(port: port) { client in
                #expect(try await collect(client.analyze(AnalyzeRequest(query: "sizes:1"))).count == 1)
                try await Task.sleep(for: .milliseconds(700))
                #expect(try await collect(client.analyze(AnalyzeRequest(query: "sizes:2"))).count == 1)
                let peers = service.observations.withLock { $0.peers }
                #expect(peers.count == 2)
                #expect(peers[0] != peers[1], "the second call must use a new connection")
            }
        }
    }

    @Test("goaway during a call: the running call completes")
    func goAwayDuringCall() async throws {
        let service = ConformanceService()
        var configuration = ChorusRPCServer.Configuration()
        configuration.maxConnectionAge = .milliseconds(300)
        try await withServer(service: service, configuration: configuration) { _, port in
            try await withClient(port: port) { client in
                let events = try await collect(client.analyze(AnalyzeRequest(query: "interval:100 sizes:1,1,1,1,1,1")))
                #expect(events.count == 6)
            }
        }
    }

    @Test("ping: acknowledged while calls run")
    func ping() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                async let events = collect(client.analyze(AnalyzeRequest(query: "interval:10 sizes:1,1,1,1,1")))
                let rtt = try await client.ping()
                #expect(rtt < .seconds(5))
                #expect(try await events.count == 5)
            }
        }
    }

    @Test("custom metadata reaches the service")
    func customMetadata() async throws {
        let service = ConformanceService()
        try await withServer(service: service) { _, port in
            try await withClient(port: port) { client in
                _ = try await collect(client.analyze(AnalyzeRequest(query: "sizes:1"), options: CallOptions(metadata: ["Authorization": "Bearer abc"])))
                let metadata = service.observations.withLock { $0.metadata.first ?? [] }
                #expect(metadata.first?.key == "authorization")
                #expect(metadata.first?.value == "Bearer abc")
            }
        }
    }

    @Test("concurrent_large: many concurrent calls on one connection all succeed")
    func concurrentCalls() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                try await withThrowingTaskGroup(of: [Int].self) { group in
                    for _ in 0..<200 {
                        group.addTask { try await collect(client.analyze(AnalyzeRequest(query: "sizes:100,2000,31415"))).map { $0.text!.count } }
                    }
                    for try await sizes in group { #expect(sizes == [100, 2000, 31415]) }
                }
            }
        }
    }

    @Test("unary methods: ListModels and Health")
    func unary() async throws {
        try await withServer(service: ConformanceService()) { _, port in
            try await withClient(port: port) { client in
                let models = try await client.listModels()
                let health = try await client.health()
                #expect(models.map(\.name) == ["test"])
                #expect(health.status == .serving)
            }
        }
    }
}
