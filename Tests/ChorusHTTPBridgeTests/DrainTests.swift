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
        try await withBridgeInServiceGroup(observer: observer) { group, port, _ in
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

    @Test("a stream still running when the drain grace ends gets a retryable UNAVAILABLE error and [DONE]; its model stops; the bridge stops")
    func drainGraceEndsLongStreams() async throws {
        let observer = DemoObserver()
        let configuration = bridgeConfiguration { $0.drainGracePeriod = .milliseconds(300) }
        try await withBridgeInServiceGroup(configuration: configuration, observer: observer) { group, port, stopped in
            // About 20 s of answer: far longer than the grace.
            let running = try await HTTPConnection.connect(port: port)
            defer { running.close() }
            try await running.postAnalyze(analyzeBody("A long answer [demo:words=400]", models: ["gemini"]))
            #expect(try await running.readHead().status == 200)
            let early = try await running.readBlocks { $0.eventType == "text_generation" }.blocks

            let clock = ContinuousClock()
            let shutdownAt = clock.now
            await group.triggerGracefulShutdown()
            let rest = try await running.readAllBlocks()
            let ended = clock.now - shutdownAt
            let events = (early + rest).filter { !$0.isComment }
            #expect(events.last?.isDone == true, "the stream ends with [DONE]")
            let error = try #require(events.dropLast().last?.object, "an error event before [DONE]")
            #expect(error["event_type"] as? String == "error")
            #expect(error["model"] == nil, "a call-level error")
            #expect(error["code"] as? String == "UNAVAILABLE")
            #expect(error["retryable"] as? Bool == true)
            #expect((error["message"] as? String)?.contains("drain grace") == true, "\(error)")
            #expect(!events.contains { $0.eventType == "complete" })
            #expect(ended >= .milliseconds(300), "not before the grace: \(ended)")
            #expect(ended < .seconds(5), "at the grace, not at the end of the answer: \(ended)")
            // The bridge's run returns once its last stream ended, and the model was stopped.
            try await stopped()
            #expect(await eventually { observer.counts.cancelled == 1 }, "the model stopped: \(observer.counts)")
            #expect(observer.counts.completed == 0)
        }
    }

    /// A bridge over the demo models in a service group, as chorusd runs it: `body` gets the group
    /// (to trigger the drain), the port, and a wait for the group's run to return.
    private func withBridgeInServiceGroup(
        configuration: ChorusHTTPBridge.Configuration = bridgeConfiguration(), observer: DemoObserver,
        _ body: (ServiceGroup, Int, () async throws -> Void) async throws -> Void
    ) async throws {
        let bridge = ChorusHTTPBridge(service: demoOrchestrator(observer: observer), configuration: configuration, logger: quietLogger)
        let group = ServiceGroup(services: [bridge], logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let port = try #require(await bridge.listeningPort)
            try await body(group, port) { try await tasks.next() }
        }
    }
}
