import Testing

/// `GET /api/analyze/stream/parallel?query=…&models=a,b` for browser EventSource.
@Suite("GET with query parameters (EventSource form)", .timeLimit(.minutes(1)))
struct EventSourceGetTests {
    static let path = "/api/analyze/stream/parallel"

    @Test("GET streams the same events as POST for the same question")
    func sameEventsAsPost() async throws {
        try await withBridge { fixture in
            let query = "What is happening in this video? [demo:fast] [demo:words=15]"
            let post = try await HTTPConnection.analyze(port: fixture.port, analyzeBody(query, models: allModels, extra: #""index_id":"idx-1","video_id":"vid-9""#))
            let get = try await HTTPConnection.exchange(
                port: fixture.port, "GET",
                "\(Self.path)?query=What%20is%20happening%20in%20this%20video%3F%20%5Bdemo%3Afast%5D%20%5Bdemo%3Awords%3D15%5D&models=gemini,pegasus,gpt4o&index_id=idx-1&video_id=vid-9",
                headers: [("Accept", "text/event-stream")]
            )
            #expect(get.status == 200)
            #expect(get.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            #expect(get.header("Cache-Control") == "no-cache")
            #expect(get.header("X-Accel-Buffering") == "no")
            let getBlocks = try SSE.parse(get.body)
            let postBlocks = try SSE.parse(post.body)
            SSE.checkContract(getBlocks, models: allModels)
            SSE.checkContract(postBlocks, models: allModels)
            // Same events: same count, same types per model, same (deterministic) answers.
            #expect(getBlocks.count == postBlocks.count)
            for model in allModels {
                #expect(getBlocks.filter { $0.model == model }.map(\.eventType) == postBlocks.filter { $0.model == model }.map(\.eventType))
            }
            #expect(SSE.answers(getBlocks) == SSE.answers(postBlocks))
            #expect(!SSE.answers(getBlocks).values.contains(""))
        }
    }

    @Test("models=a,b and repeated models= both give the models in order; spaces around names are trimmed")
    func modelsParsing() async throws {
        try await withBridge { fixture in
            for (models, expected) in [
                ("models=gpt4o,gemini", ["gpt4o", "gemini"]),
                ("models=pegasus&models=gemini", ["pegasus", "gemini"]),
                ("models=gemini,%20gpt4o%20,,", ["gemini", "gpt4o"]),
            ] {
                let response = try await HTTPConnection.exchange(port: fixture.port, "GET", "\(Self.path)?query=Hi%20%5Bdemo%3Afast%5D%20%5Bdemo%3Awords%3D3%5D&\(models)")
                #expect(response.status == 200, "\(models): \(response.text)")
                let blocks = try SSE.parse(response.body)
                #expect(blocks.first?.object?["models"] as? [String] == expected, "\(models)")
                SSE.checkContract(blocks, models: expected)
            }
        }
    }

    @Test("GET without models uses the recommended models; GET errors are plain HTTP too")
    func defaultsAndErrors() async throws {
        try await withBridge { fixture in
            let response = try await HTTPConnection.exchange(port: fixture.port, "GET", "\(Self.path)?query=Hi%20%5Bdemo%3Afast%5D%20%5Bdemo%3Awords%3D3%5D")
            #expect(response.status == 200)
            let blocks = try SSE.parse(response.body)
            let models = blocks.first?.object?["models"] as? [String] ?? []
            #expect(!models.isEmpty)
            SSE.checkContract(blocks, models: models)

            let missing = try await HTTPConnection.exchange(port: fixture.port, "GET", "\(Self.path)?models=gemini")
            #expect(missing.status == 400)
            #expect(errorBody(missing)?.code == "INVALID_ARGUMENT")
            #expect(errorBody(missing)?.message.contains("'query'") == true, "\(missing.text)")

            let unknown = try await HTTPConnection.exchange(port: fixture.port, "GET", "\(Self.path)?query=Hi&models=gemini,gpt5")
            #expect(unknown.status == 400)
            #expect(errorBody(unknown)?.message == "unknown model 'gpt5'; known: gemini, gpt4o, pegasus")
        }
    }
}
