import ChorusHTTPBridge
import ChorusProviders
import ChorusWire
import Testing

/// The exact bytes of `POST /api/analyze/stream/parallel`, read from a raw socket.
@Suite("SSE stream: the exact bytes on the wire", .timeLimit(.minutes(1)))
struct WireFormatTests {
    @Test("POST answers 200 text/event-stream with contiguous id/data events, then [DONE], then the response ends")
    func exactBytes() async throws {
        try await withBridge { fixture in
            let connection = try await HTTPConnection.connect(port: fixture.port)
            defer { connection.close() }
            try await connection.postAnalyze(analyzeBody("What is happening in this video? [demo:fast] [demo:words=5]", models: allModels))
            let response = try await connection.readResponse()

            #expect(response.head.statusLine == "HTTP/1.1 200 OK")
            #expect(response.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            #expect(response.header("Cache-Control") == "no-cache")
            #expect(response.header("X-Accel-Buffering") == "no")
            #expect(response.head.isChunked, "the stream is sent chunked")

            let blocks = try SSE.parse(response.body)
            #expect(!blocks.contains { $0.isComment }, "no heartbeat in a fast call")
            SSE.checkContract(blocks, models: allModels)
            // 5 words per model: every answer is non-empty and has exactly five words.
            for (model, answer) in SSE.answers(blocks) {
                #expect(answer.split(whereSeparator: \.isWhitespace).count == 5, "\(model): \(answer)")
            }
            let complete = blocks.last { $0.eventType == "complete" }?.object
            #expect(Set(complete?["succeeded"] as? [String] ?? []) == Set(allModels))
            #expect(complete?["failed"] as? [String] == [])

            // The naive-client rule: every HTTP chunk holds whole events only.
            #expect(!response.chunks.isEmpty)
            for chunk in response.chunks {
                let text = String(decoding: chunk, as: UTF8.self)
                #expect(text.hasSuffix("\n\n"), "a chunk must end at an event boundary: \(text.debugDescription)")
                #expect(text.hasPrefix("id: ") || text.hasPrefix("data: ") || text.hasPrefix(": "), "a chunk must start at an event boundary: \(text.debugDescription)")
                #expect(throws: Never.self) { try SSE.parse(chunk) }
            }
            // The body ended with the terminating chunk, and the connection stays open (keep-alive).
            try await connection.sendRequest("GET", "/healthz")
            #expect(try await connection.readResponse().status == 200, "the connection serves the next request")
        }
    }

    @Test("each event's JSON is one line with no raw newline, and text with quotes, backslashes and newlines survives")
    func oneLinePerEvent() async throws {
        try await withBridge { fixture in
            let response = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Line one\nline \"two\" \\ three [demo:fast] [demo:words=12]", models: ["gemini"]))
            #expect(response.status == 200)
            let blocks = try SSE.parse(response.body)
            SSE.checkContract(blocks, models: ["gemini"])
            for block in blocks where !block.isComment {
                #expect(!(block.data ?? "").contains("\n"))
                #expect(!(block.data ?? "").contains("\r"))
            }
        }
    }

    @Test("X-Request-Id echoes the request_id, and start/complete carry it")
    func requestIDEcho() async throws {
        try await withBridge { fixture in
            let response = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi [demo:fast] [demo:words=3]", models: ["gpt4o"], requestID: "wire-id-1"))
            #expect(response.status == 200)
            #expect(response.header("X-Request-Id") == "wire-id-1")
            let blocks = try SSE.parse(response.body)
            #expect(blocks.first?.object?["request_id"] as? String == "wire-id-1")
            #expect(blocks.last { $0.eventType == "complete" }?.object?["request_id"] as? String == "wire-id-1")
        }
    }
}

/// Flush coalescing on the SSE path (see FlushCoalescing): the end of a call is one write.
@Suite("SSE stream: the end of a call in one write", .timeLimit(.minutes(1)))
struct SSECoalescingTests {
    @Test("a model's model_end and the call's complete arrive in one batch, right before [DONE]")
    func tailIsOneChunk() async throws {
        // No wall-clock bound (a debug build on a busy machine may take longer than the default
        // 100 µs between the jobs); the wait still ends as soon as no job of the call is queued.
        let configuration = bridgeConfiguration { $0.flushCoalescing = FlushCoalescing(maxDelay: .seconds(5)) }
        try await withBridge(configuration: configuration) { fixture in
            for _ in 0..<5 {
                let response = try await HTTPConnection.analyze(
                    port: fixture.port, analyzeBody("Go [demo:fast] [demo:words=4]", models: ["gemini"]))
                #expect(response.status == 200)
                SSE.checkContract(try SSE.parse(response.body), models: ["gemini"])
                // The ending is written as the batch of the last events and then `[DONE]`, two
                // HTTP chunks in one write; the batch holds model_end and complete together.
                let chunks = response.chunks
                try #require(chunks.count >= 2)
                let batch = try SSE.parse(chunks[chunks.count - 2]).compactMap(\.eventType)
                #expect(Array(batch.suffix(2)) == ["model_end", "complete"], "last batch: \(batch)")
                #expect(try SSE.parse(chunks[chunks.count - 1]).map(\.isDone) == [true])
            }
        }
    }
}
