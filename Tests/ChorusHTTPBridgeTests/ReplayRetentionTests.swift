import ChorusHTTPBridge
import ChorusProviders
import Testing

/// How long finished calls stay resumable, and the budget all of them share.
@Suite("Replay retention of finished calls", .timeLimit(.minutes(1)))
struct ReplayRetentionTests {
    /// A finished call is handed to the retention queue just after its last bytes went out, so a
    /// client can outrun it by a few microseconds: the check that it is gone polls, for up to 2 s.
    static func expectForgotten(_ requestID: String, port: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let body = analyzeBody("What happens? [demo:fast] [demo:words=8]", models: ["gemini"], requestID: requestID)
        var last: RawResponse?
        for _ in 0..<200 {
            let response = try await HTTPConnection.analyze(port: port, body, headers: [("Last-Event-ID", "1")])
            last = response
            if response.status == 404 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(last?.status == 404, "'\(requestID)' should have been forgotten", sourceLocation: sourceLocation)
        #expect(last?.text.contains("no call with request_id '\(requestID)'") == true, "\(last?.text ?? "")", sourceLocation: sourceLocation)
    }

    /// Runs one fast call to completion and returns its body.
    static func finishCall(_ requestID: String, port: Int) async throws -> RawResponse {
        let body = analyzeBody("What happens? [demo:fast] [demo:words=8]", models: ["gemini"], requestID: requestID)
        let response = try await HTTPConnection.analyze(port: port, body)
        #expect(response.status == 200)
        #expect(response.text.hasSuffix("data: [DONE]\n\n"))
        return response
    }

    static func expectResumable(_ requestID: String, after id: UInt64, full: RawResponse, port: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let body = analyzeBody("What happens? [demo:fast] [demo:words=8]", models: ["gemini"], requestID: requestID)
        let resumed = try await HTTPConnection.analyze(port: port, body, headers: [("Last-Event-ID", "\(id)")])
        #expect(resumed.status == 200, sourceLocation: sourceLocation)
        let expected = ResumeTests.after(id, in: try SSE.parse(full.body)).map(\.raw)
        #expect(try SSE.parse(resumed.body).map(\.raw) == expected, "'\(requestID)' after \(id)", sourceLocation: sourceLocation)
    }

    @Test("past replayMaxCalls the oldest finished call is forgotten; the newer ones stay resumable")
    func callCountBudget() async throws {
        let observer = DemoObserver()
        try await withBridge(configuration: bridgeConfiguration { $0.replayMaxCalls = 2 }, observer: observer) { fixture in
            var bodies: [String: RawResponse] = [:]
            for id in ["count-1", "count-2", "count-3"] {
                bodies[id] = try await Self.finishCall(id, port: fixture.port)
            }
            try await Self.expectForgotten("count-1", port: fixture.port)
            try await Self.expectResumable("count-2", after: 2, full: bodies["count-2"]!, port: fixture.port)
            try await Self.expectResumable("count-3", after: 2, full: bodies["count-3"]!, port: fixture.port)
            #expect(observer.counts.started == 3, "no model ran again: \(observer.counts)")
        }
    }

    @Test("past replayMaxTotalBytes the oldest finished call is forgotten; a call larger than the budget is not kept at all")
    func byteBudget() async throws {
        // One call's replay (its body without `[DONE]`), measured on a bridge of its own.
        let size = try await withBridge { fixture in
            try await Self.finishCall("measure", port: fixture.port).body.count - "data: [DONE]\n\n".utf8.count
        }
        try await withBridge(configuration: bridgeConfiguration { $0.replayMaxTotalBytes = size + size / 2 }) { fixture in
            _ = try await Self.finishCall("bytes-1", port: fixture.port)
            let second = try await Self.finishCall("bytes-2", port: fixture.port)
            try await Self.expectForgotten("bytes-1", port: fixture.port)
            try await Self.expectResumable("bytes-2", after: 3, full: second, port: fixture.port)
        }
        try await withBridge(configuration: bridgeConfiguration { $0.replayMaxTotalBytes = size / 2 }) { fixture in
            _ = try await Self.finishCall("too-big", port: fixture.port)
            try await Self.expectForgotten("too-big", port: fixture.port)
        }
    }

    @Test("calls refused with an HTTP error take no place in the budget")
    func refusedCallsAreNotKept() async throws {
        try await withBridge(configuration: bridgeConfiguration { $0.replayMaxCalls = 1 }) { fixture in
            let kept = try await Self.finishCall("kept", port: fixture.port)
            for index in 0..<5 {
                let refused = try await HTTPConnection.analyze(
                    port: fixture.port, analyzeBody("What happens?", models: ["no-such-model"], requestID: "refused-\(index)"))
                #expect(refused.status == 400, "\(refused.text)")
            }
            try await Task.sleep(for: .milliseconds(50))
            try await Self.expectResumable("kept", after: 2, full: kept, port: fixture.port)
        }
    }

    @Test("replayRetention zero: a finished call is not resumable, a running one still is")
    func zeroRetention() async throws {
        try await withBridge(configuration: bridgeConfiguration { $0.replayRetention = .zero }) { fixture in
            _ = try await Self.finishCall("gone-at-once", port: fixture.port)
            try await Self.expectForgotten("gone-at-once", port: fixture.port)

            // A second client attaches to a call that is still streaming.
            let body = analyzeBody("Describe the scene [demo:words=400]", models: ["gemini"], requestID: "still-running")
            let (first, early, ended) = try await HTTPConnection.openStream(port: fixture.port, body) { $0.eventType == "text_generation" }
            defer { first.close() }
            #expect(!ended)
            let second = try await HTTPConnection.openStream(
                port: fixture.port, body, headers: [("Last-Event-ID", "\(try #require(early.last?.id))")]
            ) { $0.eventType == "text_generation" }
            defer { second.connection.close() }
            #expect(!second.ended)
        }
    }
}
