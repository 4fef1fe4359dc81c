import ChorusHTTPBridge
import ChorusProviders
import Testing

/// Resume with `Last-Event-ID` (header or `last_event_id` query parameter) and the same `request_id`.
@Suite("Resume with Last-Event-ID", .timeLimit(.minutes(1)))
struct ResumeTests {
    static let path = "/api/analyze/stream/parallel"

    /// The blocks after `id` in a complete stream (events with a larger id, then `[DONE]`).
    static func after(_ id: UInt64, in blocks: [SSEBlock]) -> [SSEBlock] {
        blocks.filter { !$0.isComment && ($0.id.map { $0 > id } ?? true) }
    }

    @Test("a second client resuming a running call gets exactly the events after N; no model runs again")
    func resumeWhileRunning() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let body = analyzeBody("Describe the scene [demo:words=30]", models: ["gemini", "gpt4o"], requestID: "resume-live")
            let (first, early, ended) = try await HTTPConnection.openStream(port: fixture.port, body) { $0.eventType == "text_generation" }
            defer { first.close() }
            #expect(!ended)
            let lastSeen = try #require(early.last?.id)

            // Reconnect with the header while the first client stays attached.
            let second = try await HTTPConnection.connect(port: fixture.port)
            defer { second.close() }
            try await second.postAnalyze(body, headers: [("Last-Event-ID", "\(lastSeen)")])
            let head = try await second.readHead()
            #expect(head.status == 200)
            #expect(head.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            let resumed = try await second.readAllBlocks()
            #expect(resumed.first?.isDone == false, "the call was still running: events follow")

            let rest = try await first.readAllBlocks()
            let full = early + rest
            SSE.checkContract(full, models: ["gemini", "gpt4o"])
            let expected = Self.after(lastSeen, in: full)
            #expect(resumed.filter { !$0.isComment }.map(\.raw) == expected.map(\.raw), "exactly the events after \(lastSeen), byte for byte")
            #expect(resumed.first?.id == lastSeen + 1, "no gap")
            #expect(observer.counts.started == 2, "each model started once: \(observer.counts)")
            #expect(observer.counts.completed == 2)
        }
    }

    @Test("one of two attached clients leaving does not cancel the call")
    func oneOfTwoLeaves() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let body = analyzeBody("Describe the scene [demo:words=30]", models: ["gemini", "gpt4o"], requestID: "two-clients")
            let first = try await HTTPConnection.connect(port: fixture.port)
            defer { first.close() }
            try await first.postAnalyze(body)
            #expect(try await first.readHead().status == 200)
            let early = try await first.readBlocks { $0.eventType == "model_start" }.blocks
            let second = try await HTTPConnection.connect(port: fixture.port)
            try await second.postAnalyze(body, headers: [("Last-Event-ID", "\(early.last?.id ?? 1)")])
            #expect(try await second.readHead().status == 200)
            _ = try await second.readBlocks { $0.eventType == "text_generation" }
            second.close()
            let full = try early + (await first.readAllBlocks())
            SSE.checkContract(full, models: ["gemini", "gpt4o"])
            #expect(observer.counts.cancelled == 0)
            #expect(observer.counts.completed == 2)
        }
    }

    @Test("resuming a finished call (within retention): header, last_event_id on POST, last_event_id on GET")
    func resumeAfterFinish() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let body = analyzeBody("What happens? [demo:fast] [demo:words=8]", models: allModels, requestID: "resume-done")
            let original = try await HTTPConnection.analyze(port: fixture.port, body)
            #expect(original.status == 200)
            let full = try SSE.parse(original.body)
            SSE.checkContract(full, models: allModels)
            let lastID = try #require(full.last { $0.id != nil }?.id)

            for resumeAfter in [UInt64(5), 1, lastID - 1] {
                let byHeader = try await HTTPConnection.analyze(port: fixture.port, body, headers: [("Last-Event-ID", "\(resumeAfter)")])
                #expect(byHeader.status == 200)
                #expect(try SSE.parse(byHeader.body).map(\.raw) == Self.after(resumeAfter, in: full).map(\.raw), "header, after \(resumeAfter)")
            }

            let byPostQuery = try await HTTPConnection.analyze(port: fixture.port, body, target: "\(Self.path)?last_event_id=7")
            #expect(byPostQuery.status == 200)
            #expect(try SSE.parse(byPostQuery.body).map(\.raw) == Self.after(7, in: full).map(\.raw), "last_event_id on POST")

            let byGet = try await HTTPConnection.exchange(
                port: fixture.port, "GET",
                "\(Self.path)?query=What%20happens%3F%20%5Bdemo%3Afast%5D%20%5Bdemo%3Awords%3D8%5D&models=gemini,pegasus,gpt4o&request_id=resume-done&last_event_id=3"
            )
            #expect(byGet.status == 200)
            #expect(try SSE.parse(byGet.body).map(\.raw) == Self.after(3, in: full).map(\.raw), "last_event_id on GET")

            let atEnd = try await HTTPConnection.analyze(port: fixture.port, body, headers: [("Last-Event-ID", "\(lastID)")])
            #expect(atEnd.status == 200)
            #expect(atEnd.text == "data: [DONE]\n\n", "nothing after the last id but [DONE]")

            #expect(observer.counts.started == 3, "no model ran again: \(observer.counts)")
        }
    }

    @Test("a tiny replay buffer: the first client still gets every event; a resume older than the buffer gets a call-level error, then [DONE]")
    func replayBufferExceeded() async throws {
        let observer = DemoObserver()
        try await withBridge(configuration: bridgeConfiguration { $0.replayMaxBytes = 200 }, observer: observer) { fixture in
            let body = analyzeBody("What happens? [demo:fast] [demo:words=20]", models: allModels, requestID: "tiny-buffer")
            let original = try await HTTPConnection.analyze(port: fixture.port, body)
            #expect(original.status == 200)
            let full = try SSE.parse(original.body)
            SSE.checkContract(full, models: allModels)

            let resumed = try await HTTPConnection.analyze(port: fixture.port, body, headers: [("Last-Event-ID", "2")])
            #expect(resumed.status == 200)
            let blocks = try SSE.parse(resumed.body)
            #expect(blocks.count == 2, "an error event then [DONE]: \(resumed.text)")
            let error = blocks.first
            #expect(error?.eventType == "error")
            #expect(error?.id == nil)
            #expect(error?.object?.keys.contains("model") == false, "a call-level error has no model key")
            #expect((error?.object?["message"] as? String)?.isEmpty == false)
            #expect(blocks.last?.raw == "data: [DONE]\n\n")
            #expect(observer.counts.started == 3)
        }
    }

    @Test("resume after the only client left a running call: the produced events, then a call-level CANCELLED error; nothing reruns")
    func resumeAfterDisconnectCancelled() async throws {
        let observer = DemoObserver()
        try await withBridge(observer: observer) { fixture in
            let body = analyzeBody("Describe the scene [demo:words=200]", models: ["gemini"], requestID: "left-alone")
            let first = try await HTTPConnection.connect(port: fixture.port)
            try await first.postAnalyze(body)
            #expect(try await first.readHead().status == 200)
            let early = try await first.readBlocks { $0.eventType == "text_generation" }.blocks
            first.close()
            #expect(await observer.wait(for: .cancelled, count: 1, timeout: .seconds(2)))

            let resumed = try await HTTPConnection.analyze(port: fixture.port, body, headers: [("Last-Event-ID", "\(early.last?.id ?? 0)")])
            #expect(resumed.status == 200)
            let blocks = try SSE.parse(resumed.body)
            let ids = blocks.compactMap(\.id)
            let resumeFrom = (early.last?.id ?? 0) + 1
            #expect(ids == ids.indices.map { resumeFrom + UInt64($0) }, "the events after \(resumeFrom - 1), contiguous: \(ids)")
            let error = blocks.dropLast().last
            #expect(error?.eventType == "error" && error?.object?["model"] == nil && error?.object?["code"] as? String == "CANCELLED", "\(resumed.text.suffix(300))")
            #expect(blocks.last?.isDone == true)
            #expect(observer.counts.started == 1)
        }
    }
}
