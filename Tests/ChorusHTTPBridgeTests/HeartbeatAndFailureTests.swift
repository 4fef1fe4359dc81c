import ChorusHTTPBridge
import ChorusProviders
import Testing

@Suite("Heartbeat comments and failing models", .timeLimit(.minutes(1)))
struct HeartbeatAndFailureTests {
    @Test("': ping' comments arrive while a call is quiet, each in its own chunk, without ids")
    func heartbeat() async throws {
        try await withBridge(configuration: bridgeConfiguration { $0.heartbeatInterval = .milliseconds(100) }) { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            defer { connection.close() }
            // Timed from the request, not from reading the head: a test task that is slow to read
            // (a busy machine) finds pings already queued, and they are not a burst.
            let started = ContinuousClock.now
            try await connection.postAnalyze(analyzeBody("Wait [demo:stall=gemini@0]", models: ["gemini"]))
            let head = try await connection.readHead()
            #expect(head.status == 200)
            var pings = 0
            var events: [SSEBlock] = []
            while pings < 3, let chunk = try await connection.readChunk() {
                let text = String(decoding: chunk, as: UTF8.self)
                if text.hasPrefix(":") {
                    #expect(text == ": ping\n\n", "a heartbeat is exactly ': ping\\n\\n'")
                    pings += 1
                } else {
                    events += try SSE.parse(chunk)
                }
            }
            let elapsed = ContinuousClock.now - started
            #expect(pings == 3)
            #expect(elapsed >= .milliseconds(300), "the third ping comes after three quiet intervals (\(elapsed))")
            #expect(events.map(\.eventType) == ["start", "model_start"])
            #expect(events.map(\.id) == [1, 2])
        }
    }

    @Test("no heartbeat while events flow faster than the interval")
    func noHeartbeatWhenBusy() async throws {
        try await withBridge(configuration: bridgeConfiguration { $0.heartbeatInterval = .seconds(5) }) { fixture in
            let response = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Go [demo:words=10]", models: ["gemini"]))
            let blocks = try SSE.parse(response.body)
            #expect(!blocks.contains { $0.isComment })
            SSE.checkContract(blocks, models: ["gemini"])
        }
    }

    @Test("a failing model gets an error event with model and message, and no model_end; the others complete")
    func oneModelFails() async throws {
        try await withBridge { fixture in
            let response = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Summarise [demo:fast] [demo:words=6] [demo:fail=gemini]", models: allModels))
            #expect(response.status == 200)
            let blocks = try SSE.parse(response.body)
            SSE.checkContract(blocks, models: allModels, failing: ["gemini"])
            let errors = blocks.filter { $0.eventType == "error" }
            #expect(errors.count == 1)
            let error = try #require(errors.first?.object)
            #expect(error["model"] as? String == "gemini")
            #expect((error["message"] as? String)?.isEmpty == false)
            #expect(error["code"] as? String == "INTERNAL")
            #expect(errors.first?.raw.contains(#""model":"gemini""#) == true)
            let complete = try #require(blocks.last { $0.eventType == "complete" }?.object)
            #expect(complete["failed"] as? [String] == ["gemini"])
            #expect(Set(complete["succeeded"] as? [String] ?? []) == ["pegasus", "gpt4o"])
        }
    }

    @Test("a model failing mid-answer: text, then its error event, never model_end")
    func failsMidAnswer() async throws {
        try await withBridge { fixture in
            let response = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Summarise [demo:fast] [demo:words=30] [demo:fail=gpt4o@3:unavailable]", models: ["gemini", "gpt4o"]))
            let blocks = try SSE.parse(response.body)
            SSE.checkContract(blocks, models: ["gemini", "gpt4o"], failing: ["gpt4o"])
            let own = blocks.filter { $0.model == "gpt4o" }
            #expect(own.filter { $0.eventType == "text_generation" }.count == 3)
            #expect(own.last?.object?["code"] as? String == "UNAVAILABLE")
            #expect(own.last?.object?["retryable"] as? Bool == true)
        }
    }
}
