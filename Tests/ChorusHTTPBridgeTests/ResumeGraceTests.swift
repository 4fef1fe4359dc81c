import ChorusHTTPBridge
import ChorusProviders
import Testing

/// `resumeGracePeriod`: a running call outlives its last client for a while, so a client whose
/// connection dropped can reconnect with `Last-Event-ID` and get the rest of the answer.
@Suite("Resume grace after the last client left", .timeLimit(.minutes(1)))
struct ResumeGraceTests {
    @Test("a lone client that drops and reconnects within the grace gets the rest of the stream; the models complete")
    func reconnectWithinGrace() async throws {
        let observer = DemoObserver()
        try await withBridge(configuration: bridgeConfiguration { $0.resumeGracePeriod = .seconds(20) }, observer: observer) { fixture in
            let body = analyzeBody("Describe the scene [demo:words=60]", models: ["gemini", "gpt4o"], requestID: "blip")
            let first = try await HTTPConnection.connect(port: fixture.port)
            try await first.postAnalyze(body)
            #expect(try await first.readHead().status == 200)
            let (early, ended) = try await first.readBlocks { $0.eventType == "text_generation" }
            #expect(!ended)
            let lastSeen = try #require(early.last?.id)
            first.close()

            let second = try await HTTPConnection.connect(port: fixture.port)
            defer { second.close() }
            try await second.postAnalyze(body, headers: [("Last-Event-ID", "\(lastSeen)")])
            #expect(try await second.readHead().status == 200)
            let rest = try await second.readAllBlocks()
            let events = rest.filter { !$0.isComment }
            #expect(events.first?.id == lastSeen + 1, "no gap after \(lastSeen)")
            #expect(!events.contains { $0.eventType == "error" }, "no error: \(events.compactMap(\.eventType))")
            SSE.checkContract(early + rest, models: ["gemini", "gpt4o"])
            #expect(observer.counts.started == 2, "no model ran again: \(observer.counts)")
            #expect(observer.counts.completed == 2)
            #expect(observer.counts.cancelled == 0)
        }
    }

    @Test("a client that does not come back: the models stop once the grace has passed, and a late resume gets CANCELLED")
    func graceExpires() async throws {
        let observer = DemoObserver()
        let grace = Duration.milliseconds(800)
        try await withBridge(configuration: bridgeConfiguration { $0.resumeGracePeriod = grace }, observer: observer) { fixture in
            let body = analyzeBody("Describe the scene [demo:words=400]", models: ["gemini"], requestID: "gone")
            let first = try await HTTPConnection.connect(port: fixture.port)
            try await first.postAnalyze(body)
            #expect(try await first.readHead().status == 200)
            let early = try await first.readBlocks { $0.eventType == "text_generation" }.blocks
            let left = ContinuousClock.now
            first.close()
            #expect(await observer.wait(for: .cancelled, count: 1, timeout: .seconds(10)), "the models stop after the grace")
            // The grace starts when the server notices the close, after `left`: never earlier.
            #expect(ContinuousClock.now - left >= grace, "cancelled only after the grace")

            let resumed = try await HTTPConnection.analyze(port: fixture.port, body, headers: [("Last-Event-ID", "\(early.last?.id ?? 0)")])
            #expect(resumed.status == 200)
            let blocks = try SSE.parse(resumed.body)
            let error = blocks.dropLast().last
            #expect(error?.eventType == "error" && error?.object?["code"] as? String == "CANCELLED", "\(resumed.text.suffix(300))")
            #expect((error?.object?["message"] as? String)?.contains("did not resume") == true)
            #expect(blocks.last?.isDone == true)
            #expect(observer.counts.started == 1)
        }
    }

    @Test("with no grace (the default) the last client leaving stops the models at once")
    func defaultIsImmediate() async throws {
        #expect(ChorusHTTPBridge.Configuration().resumeGracePeriod == .zero)
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let body = analyzeBody("Describe the scene [demo:words=400]", models: ["gemini", "gpt4o"])
            let client = try await HTTPConnection.connect(port: fixture.port)
            try await client.postAnalyze(body)
            #expect(try await client.readHead().status == 200)
            _ = try await client.readBlocks { $0.eventType == "text_generation" }
            client.close()
            #expect(await observer.wait(for: .cancelled, count: 2, timeout: .seconds(2)))
        }
    }
}
