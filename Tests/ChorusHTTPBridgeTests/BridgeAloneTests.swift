import ChorusCore
import ChorusHTTPBridge
import ChorusProviders
import ChorusRPCClient
import Testing

/// `chorusd bridge --upstream host:port`: the same bridge in front of a remote chorusd, its service
/// being a `ChorusClient` (the binary RPC stream translated to SSE).
@Suite("Bridge alone in front of a remote chorusd (RPC hop)", .timeLimit(.minutes(1)))
struct BridgeAloneTests {
    /// RPC server over the demo models (reporting to `observer`) + a bridge whose service is a client of it.
    static func withRemote<Result: Sendable>(
        observer: DemoObserver,
        configuration: ChorusHTTPBridge.Configuration = bridgeConfiguration(),
        _ body: @Sendable (BridgeFixture) async throws -> Result
    ) async throws -> Result {
        try await withRPCServer(observer: observer) { rpcPort in
            let client = ChorusClient(host: "127.0.0.1", port: rpcPort)
            defer { client.close() }
            return try await withBridge(configuration: configuration, observer: observer, service: client, body)
        }
    }

    @Test("the same contract-exact stream through the RPC hop as in-process")
    func sameStream() async throws {
        let remoteObserver = DemoObserver()
        let query = "What is happening in this video? [demo:fast] [demo:words=9]"
        let remote = try await Self.withRemote(observer: remoteObserver) { fixture in
            let response = try await HTTPConnection.analyze(port: fixture.port, analyzeBody(query, models: allModels, requestID: "hop-1"))
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            #expect(response.header("Cache-Control") == "no-cache")
            #expect(response.header("X-Accel-Buffering") == "no")
            for chunk in response.chunks {
                #expect(String(decoding: chunk, as: UTF8.self).hasSuffix("\n\n"), "whole events per chunk")
            }
            return response.text
        }
        let local = try await withBridge { fixture in
            try await HTTPConnection.analyze(port: fixture.port, analyzeBody(query, models: allModels, requestID: "hop-1")).text
        }
        let remoteBlocks = try SSE.parse(remote)
        let localBlocks = try SSE.parse(local)
        SSE.checkContract(remoteBlocks, models: allModels)
        #expect(remoteBlocks.first?.object?["request_id"] as? String == "hop-1")
        #expect(remoteBlocks.count == localBlocks.count)
        #expect(SSE.answers(remoteBlocks) == SSE.answers(localBlocks))
        for model in allModels {
            #expect(remoteBlocks.filter { $0.model == model }.map(\.eventType) == localBlocks.filter { $0.model == model }.map(\.eventType))
        }
        #expect(remoteObserver.counts.completed == 3, "the models ran on the remote server")
    }

    @Test("a bad request through the hop is still a 400 with the same message")
    func badRequestThroughHop() async throws {
        try await Self.withRemote(observer: DemoObserver()) { fixture in
            let unknown = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("What is it?", models: ["gemini", "gpt5"]))
            #expect(unknown.status == 400)
            #expect(errorBody(unknown)?.code == "INVALID_ARGUMENT")
            #expect(errorBody(unknown)?.message == "unknown model 'gpt5'; known: gemini, gpt4o, pegasus")
            let duplicate = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("What is it?", models: ["gpt4o", "gpt4o"]))
            #expect(duplicate.status == 400)
            #expect(errorBody(duplicate)?.message.contains("duplicate") == true)
            let missing = try await HTTPConnection.analyze(port: fixture.port, #"{"models":["gemini"]}"#)
            #expect(missing.status == 400)
            #expect(errorBody(missing)?.message == "field 'query' is required")
        }
    }

    @Test("/api/models and /readyz through the hop")
    func modelsThroughHop() async throws {
        try await Self.withRemote(observer: DemoObserver()) { fixture in
            let models = try await HTTPConnection.exchange(port: fixture.port, "GET", "/api/models")
            #expect(models.status == 200)
            let list = jsonObject(models)?["models"] as? [[String: Any]] ?? []
            #expect(list.compactMap { $0["name"] as? String }.sorted() == ["gemini", "gpt4o", "pegasus"])
            let ready = try await HTTPConnection.exchange(port: fixture.port, "GET", "/readyz")
            #expect(ready.status == 200)
        }
    }

    @Test("a disconnect at the bridge cancels the models on the remote server")
    func disconnectCancelsRemote() async throws {
        let observer = DemoObserver()
        try await Self.withRemote(observer: observer) { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            try await connection.postAnalyze(analyzeBody("Describe every scene of this video", models: allModels))
            #expect(try await connection.readHead().status == 200)
            _ = try await connection.readBlocks { $0.eventType == "text_generation" }
            #expect(observer.counts.started == 3)
            let closed = ContinuousClock.now
            connection.close()
            let stopped = await observer.wait(for: .cancelled, count: 3, timeout: .seconds(2))
            let latency = ContinuousClock.now - closed
            print("chorus-bridge-test: disconnect → third remote model cancelled (through the RPC hop) in \(milliseconds(latency)) ms")
            #expect(stopped, "every remote model observes the cancellation (counts: \(observer.counts))")
            #expect(latency < .milliseconds(200), "took \(latency)")
            #expect(observer.counts.completed == 0)
        }
    }

    @Test("an unreachable upstream is a 503 UNAVAILABLE before the stream starts")
    func upstreamUnreachable() async throws {
        let observer = DemoObserver()
        let client = try await withRPCServer(observer: observer) { rpcPort in
            ChorusClient(host: "127.0.0.1", port: rpcPort)
        }
        defer { client.close() }
        // The server above has stopped: a call through the bridge cannot start.
        try await withBridge(observer: observer, service: client) { fixture in
            let response = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi [demo:fast]", models: ["gemini"]))
            #expect(response.status == 503, "\(response.head.statusLine) \(response.text)")
            #expect(errorBody(response)?.code == "UNAVAILABLE")
        }
    }

    @Test("the upstream connection lost mid-call ends the stream with a call-level error (no model key), then [DONE]")
    func upstreamLostMidCall() async throws {
        let observer = DemoObserver()
        try await withRPCServer(observer: observer) { rpcPort in
            let client = ChorusClient(host: "127.0.0.1", port: rpcPort)
            defer { client.close() }
            try await withBridge(observer: observer, service: client) { fixture in
                let connection = try await HTTPConnection.connect(port: fixture.port)
                defer { connection.close() }
                try await connection.postAnalyze(analyzeBody("Describe it", models: ["gemini", "gpt4o"]))
                #expect(try await connection.readHead().status == 200)
                let early = try await connection.readBlocks { $0.eventType == "text_generation" }.blocks
                client.close()
                let rest = try await connection.readAllBlocks()
                let all = early + rest
                #expect(all.compactMap(\.id) == Array(1...UInt64(all.compactMap(\.id).count)), "contiguous ids")
                #expect(all.last?.raw == "data: [DONE]\n\n")
                let error = all.dropLast().last
                #expect(error?.eventType == "error" && error?.id == nil, "\(error?.raw ?? "")")
                #expect(error?.object?["model"] == nil, "call-level: no model key")
                #expect(error?.object?["code"] as? String == "UNAVAILABLE")
                #expect(!all.contains { $0.eventType == "complete" })
            }
        }
    }
}
