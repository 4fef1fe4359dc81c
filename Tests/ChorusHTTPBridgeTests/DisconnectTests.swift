import ChorusHTTPBridge
import ChorusProviders
import Testing

/// A client that disconnects cancels its call: every demo model observes the cancellation.
@Suite("Disconnect cancels the call", .timeLimit(.minutes(1)))
struct DisconnectTests {
    /// The bound asserted on disconnect → every model cancelled (the promise is 100 ms).
    static let cancelBound: Duration = .milliseconds(100)

    @Test("closing the socket mid-stream stops all three models within 100 ms")
    func disconnectCancelsEveryModel() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            try await connection.postAnalyze(analyzeBody("Describe every scene of this video", models: allModels))
            #expect(try await connection.readHead().status == 200)
            let (blocks, ended) = try await connection.readBlocks { $0.eventType == "text_generation" }
            #expect(!ended)
            #expect(blocks.filter { $0.eventType == "model_start" }.count == 3)
            #expect(observer.counts.started == 3)

            let closed = ContinuousClock.now
            connection.close()
            let stopped = await observer.wait(for: .cancelled, count: 3, timeout: .seconds(2))
            let latency = ContinuousClock.now - closed
            print("chorus-bridge-test: disconnect → third model cancelled in \(milliseconds(latency)) ms")
            #expect(stopped, "every demo model observes the cancellation (counts: \(observer.counts))")
            #expect(latency < Self.cancelBound, "disconnect → all models stopped took \(latency)")
            #expect(observer.counts.completed == 0)
            #expect(await eventually { fixture.bridge.runningCalls == 0 }, "the bridge forgets the running call")
        }
    }

    @Test("a GET (EventSource) client going away cancels too, even before any text")
    func getDisconnectBeforeText() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            try await connection.sendRequest("GET", "/api/analyze/stream/parallel?query=Describe%20it&models=gemini,pegasus")
            #expect(try await connection.readHead().status == 200)
            _ = try await connection.readBlocks { $0.eventType == "start" }
            connection.close()
            #expect(await observer.wait(for: .cancelled, count: 2, timeout: .seconds(1)), "counts: \(observer.counts)")
            #expect(observer.counts.completed == 0)
        }
    }

    @Test("a stalled model (hung upstream) is cancelled by the disconnect as well")
    func stalledModelCancelled() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            try await connection.postAnalyze(analyzeBody("Hold on [demo:stall=gemini@0] [demo:fast] [demo:words=5]", models: ["gemini", "gpt4o"]))
            #expect(try await connection.readHead().status == 200)
            _ = try await connection.readBlocks { $0.eventType == "model_end" }
            #expect(await observer.wait(for: .completed, count: 1, timeout: .seconds(1)))
            connection.close()
            #expect(await observer.wait(for: .cancelled, count: 1, timeout: .seconds(1)), "counts: \(observer.counts)")
        }
    }
}
