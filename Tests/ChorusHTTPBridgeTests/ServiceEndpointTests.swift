import ChorusHTTPBridge
import Testing

/// `/api/models`, `/healthz`, `/readyz` and the web page at `/`.
@Suite("Models, health, readiness and the web page", .timeLimit(.minutes(1)))
struct ServiceEndpointTests {
    @Test("/api/models lists the registry with name, provider, demo and available")
    func models() async throws {
        try await withBridge { fixture in
            let response = try await HTTPConnection.exchange(port: fixture.port, "GET", "/api/models")
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
            let models = try #require(jsonObject(response)?["models"] as? [[String: Any]])
            #expect(models.compactMap { $0["name"] as? String }.sorted() == ["gemini", "gpt4o", "pegasus"])
            for model in models {
                #expect(model["provider"] as? String == "demo")
                #expect(model["demo"] as? Bool == true)
                #expect(model["available"] as? Bool == true)
            }
        }
    }

    @Test("/healthz and /readyz answer 200 with JSON")
    func health() async throws {
        try await withBridge { fixture in
            let health = try await HTTPConnection.exchange(port: fixture.port, "GET", "/healthz")
            #expect(health.status == 200)
            #expect(jsonObject(health)?["status"] as? String == "ok")
            let ready = try await HTTPConnection.exchange(port: fixture.port, "GET", "/readyz")
            #expect(ready.status == 200)
            #expect(jsonObject(ready)?["status"] as? String == "ready")
        }
    }

    @Test("/ serves the web page (HTML referencing its script and stylesheet); /app.js and /style.css are served")
    func webPage() async throws {
        try await withBridge { fixture in
            let page = try await HTTPConnection.exchange(port: fixture.port, "GET", "/")
            #expect(page.status == 200)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            let html = page.text
            #expect(html.lowercased().hasPrefix("<!doctype html>"))
            #expect(html.contains("<title>Chorus"))
            #expect(html.contains("/app.js") && html.contains("/style.css"))
            let index = try await HTTPConnection.exchange(port: fixture.port, "GET", "/index.html")
            #expect(index.body == page.body)

            let script = try await HTTPConnection.exchange(port: fixture.port, "GET", "/app.js")
            #expect(script.status == 200)
            #expect(script.header("Content-Type")?.hasPrefix("text/javascript") == true)
            #expect(script.text.contains("/api/analyze/stream/parallel"), "the page uses the POST stream endpoint")
            let style = try await HTTPConnection.exchange(port: fixture.port, "GET", "/style.css")
            #expect(style.status == 200)
            #expect(style.header("Content-Type")?.hasPrefix("text/css") == true)
            #expect(!style.body.isEmpty)
        }
    }

    @Test("unknown paths are 404, not 500")
    func unknownPath() async throws {
        try await withBridge { fixture in
            let response = try await HTTPConnection.exchange(port: fixture.port, "GET", "/api/nothing-here")
            #expect(response.status == 404)
            let put = try await HTTPConnection.exchange(port: fixture.port, "PUT", "/api/analyze/stream/parallel", headers: [("Content-Type", "application/json")], body: "{}")
            #expect((400..<500).contains(put.status), "\(put.head.statusLine)")
        }
    }
}
