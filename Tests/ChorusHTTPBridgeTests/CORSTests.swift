import ChorusHTTPBridge
import Testing

/// CORS: an allow-list of origins (default: same origin only) and answered preflights.
@Suite("CORS", .timeLimit(.minutes(1)))
struct CORSTests {
    static let path = "/api/analyze/stream/parallel"

    static func preflight(port: Int, origin: String, requestHeaders: String? = "content-type,last-event-id") async throws -> RawResponse {
        var headers = [("Origin", origin), ("Access-Control-Request-Method", "POST")]
        if let requestHeaders { headers.append(("Access-Control-Request-Headers", requestHeaders)) }
        return try await HTTPConnection.exchange(port: port, "OPTIONS", path, headers: headers)
    }

    @Test("default: a foreign origin's preflight is 403 and its POST carries no Access-Control-Allow-Origin")
    func foreignOriginRefused() async throws {
        try await withBridge { fixture in
            let preflight = try await Self.preflight(port: fixture.port, origin: "http://evil.example")
            #expect(preflight.status == 403)
            #expect(preflight.header("Access-Control-Allow-Origin") == nil)
            #expect(errorBody(preflight)?.message.contains("http://evil.example") == true)

            let post = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi [demo:fast] [demo:words=2]", models: ["gemini"]), headers: [("Origin", "http://evil.example")])
            #expect(post.header("Access-Control-Allow-Origin") == nil)
            let models = try await HTTPConnection.exchange(port: fixture.port, "GET", "/api/models", headers: [("Origin", "http://evil.example")])
            #expect(models.header("Access-Control-Allow-Origin") == nil)
            // Same host name on another port is another origin.
            let otherPort = try await Self.preflight(port: fixture.port, origin: "http://127.0.0.1:1")
            #expect(otherPort.status == 403)
        }
    }

    @Test("default: the same origin (Origin equals the Host) is allowed, for the preflight, the stream and errors")
    func sameOriginAllowed() async throws {
        try await withBridge { fixture in
            let preflight = try await Self.preflight(port: fixture.port, origin: fixture.origin)
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == fixture.origin)

            let post = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi [demo:fast] [demo:words=2]", models: ["gemini"]), headers: [("Origin", fixture.origin)])
            #expect(post.status == 200)
            #expect(post.header("Access-Control-Allow-Origin") == fixture.origin)
            SSE.checkContract(try SSE.parse(post.body), models: ["gemini"])

            let error = try await HTTPConnection.analyze(port: fixture.port, #"{"models":["gemini"]}"#, headers: [("Origin", fixture.origin)])
            #expect(error.status == 400)
            #expect(error.header("Access-Control-Allow-Origin") == fixture.origin, "a browser can read the error body")

            let noOrigin = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi [demo:fast] [demo:words=2]", models: ["gemini"]))
            #expect(noOrigin.status == 200, "non-browser clients send no Origin")
            #expect(noOrigin.header("Access-Control-Allow-Origin") == nil)
        }
    }

    @Test("configured origin: preflight 204 with allow-origin, allow-methods and allow-headers including Last-Event-ID")
    func configuredOrigin() async throws {
        try await withBridge(configuration: bridgeConfiguration { $0.allowedOrigins = ["http://app.example"] }) { fixture in
            for requestHeaders in ["content-type,last-event-id", nil] {
                let preflight = try await Self.preflight(port: fixture.port, origin: "http://app.example", requestHeaders: requestHeaders)
                #expect(preflight.status == 204)
                #expect(preflight.header("Access-Control-Allow-Origin") == "http://app.example")
                let methods = (preflight.header("Access-Control-Allow-Methods") ?? "").uppercased()
                #expect(methods.contains("POST") && methods.contains("GET"), "\(methods)")
                let allowed = (preflight.header("Access-Control-Allow-Headers") ?? "").lowercased()
                #expect(allowed.contains("content-type") && allowed.contains("last-event-id"), "\(allowed)")
                #expect(preflight.header("Vary")?.contains("Origin") == true)
            }
            let post = try await HTTPConnection.analyze(port: fixture.port, analyzeBody("Hi [demo:fast] [demo:words=2]", models: ["gemini"]), headers: [("Origin", "http://app.example")])
            #expect(post.header("Access-Control-Allow-Origin") == "http://app.example")

            let other = try await Self.preflight(port: fixture.port, origin: "http://evil.example")
            #expect(other.status == 403)
            let lookalike = try await Self.preflight(port: fixture.port, origin: "http://app.example.evil.example")
            #expect(lookalike.status == 403)
        }
    }
}
