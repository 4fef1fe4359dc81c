import ChorusCore
import ChorusHTTPBridge
import ChorusRPCClient
import Synchronization
import Testing

/// A service that emits `count` small text events as fast as the sink lets it, counting them.
private final class FloodService: ChorusService {
    let produced = Atomic<Int>(0)
    let count: Int

    init(count: Int) { self.count = count }

    func analyze(_ request: AnalyzeRequest, context: CallContext, sink: some AnalyzeEventSink) async throws {
        sink.append(AnalyzeEvent(seq: 1, timestampMicros: 0, payload: .start(StreamStart(models: ["m"], recommended: false, requestID: "flood"))))
        for index in 0..<count {
            sink.append(AnalyzeEvent(seq: UInt64(index + 2), timestampMicros: 0, payload: .textGeneration(TextGeneration(model: "m", text: "word \(index) of a long answer"))))
            produced.add(1, ordering: .relaxed)
            try await sink.waitForCapacity()
        }
    }

    func listModels(context: CallContext) async throws -> [ModelInfo] { [] }

    func health(context: CallContext) async throws -> HealthReport {
        HealthReport(status: .serving, version: "test", uptime: .zero, activeCalls: 0)
    }
}

@Suite("SSE: a client that stops reading")
struct SlowClientTests {
    /// In process, and through the RPC hop of `chorusd bridge --upstream` (a `ChorusClient` with
    /// the `.forwarding` configuration that command uses, events pushed into the bridge from its
    /// read loop).
    @Test("holds the service back instead of growing the bridge's memory", arguments: [false, true])
    func stalledClientHoldsServiceBack(throughRPC: Bool) async throws {
        let service = FloodService(count: 300_000)
        let run: @Sendable (any ChorusService) async throws -> Void = { bridgeService in
            try await withBridge(service: bridgeService) { fixture in
                let connection = try await HTTPConnection.connect(port: fixture.port)
                defer { connection.close() }
                try await connection.postAnalyze(#"{"query": "flood", "models": ["m"]}"#)
                #expect(try await connection.readHead().status == 200)
                // Read nothing more: production must stop once the socket buffers, the bridge's
                // client lag (and through RPC, one call window) are full.
                // (Without backpressure the service would run to its 300,000th event and stop there.)
                var stalled = -1
                var samples = [service.produced.load(ordering: .relaxed)]
                for _ in 0..<50 {
                    try await Task.sleep(for: .milliseconds(200))
                    samples.append(service.produced.load(ordering: .relaxed))
                    if samples.count >= 4, Set(samples.suffix(3)).count == 1 {
                        stalled = samples.last!
                        break
                    }
                }
                print("chorus-bridge-test: a stalled SSE client held the service at \(stalled) of 300000 events (through RPC: \(throughRPC))")
                #expect(stalled > 0 && stalled < 150_000, "production did not stop while the client read nothing: \(samples)")
            }
        }
        if throughRPC {
            try await withRPCServer(service: service) { rpcPort in
                let client = ChorusClient(host: "127.0.0.1", port: rpcPort, configuration: .forwarding)
                defer { client.close() }
                try await run(client)
            }
        } else {
            try await run(service)
        }
    }
}
