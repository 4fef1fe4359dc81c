import ChorusCore
import ChorusHTTPBridge
import ChorusProviders
import Logging
import ServiceLifecycle
import Testing

/// Graceful shutdown (SIGTERM in `chorusd`, through ServiceLifecycle): new calls get 503 while
/// running streams finish.
@Suite("Draining", .timeLimit(.minutes(1)))
struct DrainTests {
    @Test("503 with Retry-After for a call that arrives while draining; a running stream still finishes")
    func drainingRejectsNewCalls() async throws {
        let observer = DemoObserver()
        let bridge = ChorusHTTPBridge(service: demoOrchestrator(observer: observer), configuration: bridgeConfiguration(), logger: quietLogger)
        let group = ServiceGroup(services: [bridge], logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let port = try #require(await bridge.listeningPort)

            // A stream that is running when the drain begins.
            let running = try await HTTPConnection.connect(port: port)
            defer { running.close() }
            try await running.postAnalyze(analyzeBody("Keep going [demo:words=12]", models: ["gemini"]))
            #expect(try await running.readHead().status == 200)
            let early = try await running.readBlocks { $0.eventType == "model_start" }.blocks

            // A request that is in flight (head sent, body not yet) when the drain begins: the only
            // way to reach the bridge once the listener has stopped accepting connections.
            let late = try await HTTPConnection.connect(port: port)
            defer { late.close() }
            let body = Array(analyzeBody("Too late [demo:fast]", models: ["gpt4o"]).utf8)
            try await late.send("POST /api/analyze/stream/parallel HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n")
            try await Task.sleep(for: .milliseconds(150))  // the head reaches the router

            await group.triggerGracefulShutdown()
            // The listener closes on graceful shutdown, after the bridge's drain handler ran.
            #expect(await eventually { (try? await HTTPConnection.connect(port: port)) == nil }, "the listener stops accepting")

            try await late.send(body)
            let response = try await late.readResponse()
            #expect(response.status == 503, "\(response.head.statusLine) \(response.text)")
            #expect(errorBody(response)?.code == "UNAVAILABLE")
            #expect(errorBody(response)?.message.contains("draining") == true)
            #expect(response.header("Retry-After") != nil)

            let rest = try await running.readAllBlocks()
            SSE.checkContract(early + rest, models: ["gemini"])
            #expect(observer.counts.started == 1, "the late call never reached a model")
        }
    }
}
