import ChorusHTTPBridge
import ChorusProviders
import Testing

/// Errors before the stream starts are plain HTTP with `{"error":{"code","message"}}`; never a 500
/// for a client's mistake.
@Suite("Error statuses before the stream starts", .timeLimit(.minutes(1)))
struct ErrorStatusTests {
    static let path = "/api/analyze/stream/parallel"

    /// Checks status, JSON error body (code + message) and content type of an error response.
    static func expectError(
        _ response: RawResponse, status: Int, code: String, message: (String) -> Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, "status: \(response.head.statusLine) \(response.text)", sourceLocation: sourceLocation)
        #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        guard let error = errorBody(response) else {
            Issue.record("body is not {\"error\":{\"code\",\"message\"}}: \(response.text)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == code, sourceLocation: sourceLocation)
        #expect(message(error.message), "message: \(error.message)", sourceLocation: sourceLocation)
    }

    @Test("400: bad JSON, not an object, missing or non-string query, models not an array of names")
    func badBodies() async throws {
        try await withBridge { fixture in
            let cases: [(body: String, field: String)] = [
                (#"{"query": "hi", "models": ["gemini"]"#, "JSON"),
                ("not json at all", "JSON"),
                (#"["query"]"#, "object"),
                (#"{"models":["gemini"]}"#, "'query'"),
                (#"{"query": 42}"#, "'query'"),
                (#"{"query":"hi","models":"gemini"}"#, "'models'"),
                (#"{"query":"hi","models":["gemini", 7]}"#, "'models'"),
                (#"{"query":"hi","video_id": 12}"#, "'video_id'"),
                (#"{"query":"hi","options":{"temperature":9}}"#, "'options.temperature'"),
                (#"{"query":"hi","options":[]}"#, "'options'"),
            ]
            for (body, field) in cases {
                let response = try await HTTPConnection.analyze(port: fixture.port, body)
                Self.expectError(response, status: 400, code: "INVALID_ARGUMENT") { $0.contains(field) }
            }
            let missing = try await HTTPConnection.analyze(port: fixture.port, #"{"models":["gemini"]}"#)
            #expect(errorBody(missing)?.message == "field 'query' is required")
        }
    }

    @Test("400: unknown model names the known ones; duplicate model is named")
    func badModels() async throws {
        try await withBridge { fixture in
            let unknown = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("What is it?", models: ["gemini", "gpt5"]))
            Self.expectError(unknown, status: 400, code: "INVALID_ARGUMENT") { $0 == "unknown model 'gpt5'; known: gemini, gpt4o, pegasus" }
            let duplicate = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("What is it?", models: ["gemini", "pegasus", "gemini"]))
            Self.expectError(duplicate, status: 400, code: "INVALID_ARGUMENT") { $0.contains("duplicate") && $0.contains("'gemini'") }
            let empty = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("   ", models: ["gemini"]))
            Self.expectError(empty, status: 400, code: "INVALID_ARGUMENT") { $0.contains("query") }
            #expect(fixture.bridge.runningCalls == 0)
            #expect(fixture.observer.counts.started == 0, "no model ran for a rejected request")
        }
    }

    @Test("413: a body over maxBodyBytes, announced by Content-Length or sent chunked")
    func bodyTooLarge() async throws {
        try await withBridge(configuration: bridgeConfiguration { $0.maxBodyBytes = 256 }) { fixture in
            let big = analyzeBody(String(repeating: "why? ", count: 100), models: ["gemini"])
            let announced = try await HTTPConnection.analyze(port: fixture.port, big)
            Self.expectError(announced, status: 413, code: "RESOURCE_EXHAUSTED") { $0.contains("256") }

            let connection = try await HTTPConnection.connect(port: fixture.port)
            defer { connection.close() }
            let bytes = Array(big.utf8)
            var request = "POST \(Self.path) HTTP/1.1\r\nHost: 127.0.0.1:\(fixture.port)\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            for start in stride(from: 0, to: bytes.count, by: 100) {
                let piece = bytes[start..<min(start + 100, bytes.count)]
                request += String(piece.count, radix: 16) + "\r\n" + String(decoding: piece, as: UTF8.self) + "\r\n"
            }
            request += "0\r\n\r\n"
            try await connection.send(request)
            Self.expectError(try await connection.readResponse(), status: 413, code: "RESOURCE_EXHAUSTED") { $0.contains("256") }

            let small = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi [demo:fast] [demo:words=2]", models: ["gemini"]))
            #expect(small.status == 200, "a body under the limit is accepted")
        }
    }

    @Test("415: a content type other than application/json")
    func wrongContentType() async throws {
        try await withBridge { fixture in
            let body = analyzeBody("Hi", models: ["gemini"])
            let plain = try await HTTPConnection.exchange(port: fixture.port, "POST", Self.path, headers: [("Content-Type", "text/plain")], body: body)
            Self.expectError(plain, status: 415, code: "INVALID_ARGUMENT") { $0.contains("application/json") }
            let none = try await HTTPConnection.exchange(port: fixture.port, "POST", Self.path, body: body)
            Self.expectError(none, status: 415, code: "INVALID_ARGUMENT") { $0.contains("application/json") }
            let form = try await HTTPConnection.exchange(port: fixture.port, "POST", Self.path, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "query=hi")
            #expect(form.status == 415)
            let withCharset = try await HTTPConnection.exchange(
                port: fixture.port, "POST", Self.path, headers: [("Content-Type", "application/json; charset=utf-8")], body: analyzeBody("Hi [demo:fast] [demo:words=2]", models: ["gemini"]))
            #expect(withCharset.status == 200, "application/json with a charset is accepted")
        }
    }

    @Test("429 with Retry-After over maxConcurrentCalls; a slot frees when the call ends")
    func tooManyCalls() async throws {
        try await withBridge(configuration: bridgeConfiguration { $0.maxConcurrentCalls = 1 }) { fixture in
            let holder = try await HTTPConnection.connect(port: fixture.port)
            try await holder.postAnalyze(analyzeBody("Hold [demo:stall=gemini@0]", models: ["gemini"]))
            #expect(try await holder.readHead().status == 200)
            _ = try await holder.readBlocks { $0.eventType == "model_start" }

            let limited = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Another [demo:fast]", models: ["gpt4o"]))
            Self.expectError(limited, status: 429, code: "RESOURCE_EXHAUSTED") { $0.contains("1") }
            let retryAfter = try #require(limited.header("Retry-After"))
            #expect(Int(retryAfter).map { $0 >= 1 } == true, "Retry-After is whole seconds: \(retryAfter)")
            let limitedGet = try await HTTPConnection.exchange(port: fixture.port, "GET", "\(Self.path)?query=x&models=gpt4o")
            #expect(limitedGet.status == 429)

            holder.close()
            #expect(await eventually { fixture.bridge.runningCalls == 0 })
            let after = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Again [demo:fast] [demo:words=2]", models: ["gpt4o"]))
            #expect(after.status == 200)
        }
    }

    @Test("409 when a running request_id is reused without Last-Event-ID; 404 when resuming an unknown request_id")
    func conflictAndNotFound() async throws {
        try await withBridge { fixture in
            let holder = try await HTTPConnection.connect(port: fixture.port)
            defer { holder.close() }
            let body = analyzeBody("Hold [demo:stall=gemini@0]", models: ["gemini"], requestID: "taken")
            try await holder.postAnalyze(body)
            #expect(try await holder.readHead().status == 200)
            _ = try await holder.readBlocks { $0.eventType == "model_start" }

            let reused = try await HTTPConnection.analyze(port: fixture.port, body)
            Self.expectError(reused, status: 409, code: "ALREADY_EXISTS") { $0.contains("'taken'") && $0.contains("Last-Event-ID") }

            let unknown = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi", models: ["gemini"], requestID: "never-seen"), headers: [("Last-Event-ID", "4")])
            Self.expectError(unknown, status: 404, code: "NOT_FOUND") { $0.contains("'never-seen'") }

            let badID = try await HTTPConnection.analyze(port: fixture.port, body, headers: [("Last-Event-ID", "four")])
            Self.expectError(badID, status: 400, code: "INVALID_ARGUMENT") { $0.contains("Last-Event-ID") }
            #expect(fixture.observer.counts.started == 1)
        }
    }

    @Test("never a 5xx for a client's mistake")
    func neverServerErrorForClientMistakes() async throws {
        try await withBridge { fixture in
            let bodies = [
                "", "{}", "null", "\"query\"", "123", #"{"query":null}"#, #"{"query":"hi","models":[]}"#, #"{"query":"hi","models":null}"#,
                #"{"query":"hi","models":[""]}"#, #"{"query":"hi","options":{"model_timeout_ms":-1}}"#, #"{"query":"hi","options":{"max_output_tokens":0}}"#,
                #"{"query":"hi","options":{"temperature":"hot"}}"#, #"{"query":"hi","request_id":7}"#, #"{"query":"\#(String(repeating: "x", count: 60_000))"}"#,
                #"{"query":"hi","models":["gemini"],"index_id":{}}"#, "{\"query\":\"\u{00e9}\u{0000}\"}",
            ]
            for body in bodies {
                // Only the status matters: a request that is valid after all starts a stream, which
                // is dropped at once (that cancels it).
                let connection = try await HTTPConnection.connect(port: fixture.port)
                defer { connection.close() }
                try await connection.postAnalyze(body)
                let head = try await connection.readHead()
                #expect(head.status < 500, "\(body.prefix(60)) → \(head.statusLine)")
            }
            var invalidUTF8 = Array(#"{"query":"caf"#.utf8)
            invalidUTF8 += [0xC3, 0x28]
            invalidUTF8 += Array(#""}"#.utf8)
            let connection = try await HTTPConnection.connect(port: fixture.port)
            defer { connection.close() }
            try await connection.sendRequest("POST", Self.path, headers: [("Content-Type", "application/json")], body: invalidUTF8)
            let response = try await connection.readResponse()
            #expect(response.status < 500, "invalid UTF-8 → \(response.head.statusLine)")

            for target in ["\(Self.path)?query=hi&temperature=hot", "\(Self.path)?query=hi&max_output_tokens=0", "\(Self.path)?query=hi&models=,,", "\(Self.path)?query="] {
                let connection = try await HTTPConnection.connect(port: fixture.port)
                defer { connection.close() }
                try await connection.sendRequest("GET", target)
                let head = try await connection.readHead()
                #expect(head.status < 500, "\(target) → \(head.statusLine)")
            }
        }
    }
}
