import ChorusHTTPBridge
import ChorusProviders
import Testing

/// A stream that ends normally leaves its connection open (HTTP/1.1 keep-alive), while a client
/// that leaves mid-stream, by closing or half-closing, still cancels its call.
@Suite("SSE connections are kept alive", .timeLimit(.minutes(1)))
struct ConnectionReuseTests {
    @Test("two whole streams and a health check run one after another on one connection")
    func streamsShareAConnection() async throws {
        try await withBridge { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            defer { connection.close() }
            for round in 1...2 {
                try await connection.postAnalyze(analyzeBody("Round \(round) [demo:fast] [demo:words=6]", models: ["gemini", "gpt4o"]))
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                #expect(response.header("Connection")?.lowercased() != "close", "round \(round) keeps the connection")
                let blocks = try SSE.parse(response.body)
                #expect(blocks.last?.data == "[DONE]", "round \(round) ends with [DONE]")
                #expect(blocks.filter { $0.eventType == "model_end" }.count == 2)
            }
            try await connection.sendRequest("GET", "/healthz")
            let health = try await connection.readResponse()
            #expect(health.status == 200)
            #expect(health.text == #"{"status":"ok"}"#)
        }
    }

    @Test("half-closing mid-stream counts as leaving: the models stop and the server closes the connection")
    func halfCloseCancels() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            defer { connection.close() }
            try await connection.postAnalyze(analyzeBody("Describe every scene of this video", models: allModels))
            #expect(try await connection.readHead().status == 200)
            let (_, ended) = try await connection.readBlocks { $0.eventType == "text_generation" }
            #expect(!ended)
            try await connection.closeOutput()
            #expect(await observer.wait(for: .cancelled, count: 3, timeout: .seconds(2)), "counts: \(observer.counts)")
            #expect(try await connection.readUntilClosed(), "the server closes a connection whose client left mid-stream")
            #expect(observer.counts.completed == 0)
            #expect(await eventually { fixture.bridge.runningCalls == 0 })
        }
    }

    @Test("a client that leaves after a kept-alive stream cancels its second stream")
    func disconnectOnSecondStream() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            try await connection.postAnalyze(analyzeBody("First [demo:fast] [demo:words=4]", models: ["gemini"]))
            #expect(try await connection.readResponse().status == 200)
            try await connection.postAnalyze(analyzeBody("Describe every scene of this video", models: ["gemini", "pegasus"]))
            #expect(try await connection.readHead().status == 200)
            _ = try await connection.readBlocks { $0.eventType == "text_generation" }
            connection.close()
            #expect(await observer.wait(for: .cancelled, count: 2, timeout: .seconds(2)), "counts: \(observer.counts)")
            #expect(observer.counts.completed == 1)
        }
    }

    @Test("an idle kept-alive connection is closed after the idle timeout, a quiet stream is not")
    func idleTimeout() async throws {
        let configuration = bridgeConfiguration {
            $0.idleConnectionTimeout = .milliseconds(300)
            $0.heartbeatInterval = .seconds(30)
        }
        try await withBridge(configuration: configuration) { fixture in
            // A stream quiet for longer than the idle timeout (first chunk after 700 ms) completes.
            let connection = try await HTTPConnection.connect(port: fixture.port)
            defer { connection.close() }
            try await connection.postAnalyze(analyzeBody("Slowly [demo:words=3]", models: ["gemini"]))
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(try SSE.parse(response.body).last?.data == "[DONE]")
            // Then, with nothing in progress, the server closes the connection.
            let idleFrom = ContinuousClock.now
            #expect(try await connection.readUntilClosed())
            let idle = ContinuousClock.now - idleFrom
            #expect(idle >= .milliseconds(250) && idle < .seconds(5), "closed after \(idle)")
        }
    }
}
