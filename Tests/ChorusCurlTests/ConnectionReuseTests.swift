import ChorusCore
@testable import ChorusCurl
import Synchronization
import Testing

/// Connection reuse, counted at the server: every test asserts how many TCP connections the
/// loopback server accepted, never how long anything took.
@Suite("CurlHTTPClient connection reuse")
struct ConnectionReuseTests {
    /// A complete keep-alive response; odd requests are chunked, even ones use Content-Length.
    static func respond(_ index: Int) -> [ScriptedHTTPServer.Step] {
        let body = "response \(index)"
        if index % 2 == 0 {
            return [.write("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")]
        }
        return [.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(body) + "0\r\n\r\n")]
    }

    static func get(_ client: CurlHTTPClient, _ server: ScriptedHTTPServer, path: String = "/") async throws -> String {
        let response = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)\(path)"))
        #expect(response.head.status == 200)
        return String(decoding: try await response.collectBody(), as: UTF8.self)
    }

    static func accepted(_ server: ScriptedHTTPServer) -> Int { server.acceptedConnections.withLock { $0 } }

    /// Waits (bounded) for a condition the test then asserts; never a timing assertion itself.
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test("sequential requests from one client (and its copies) share one connection")
    func sequentialReuse() async throws {
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: Self.respond) { server in
            let client = CurlHTTPClient()
            #expect(try await Self.get(client, server, path: "/a") == "response 0")
            #expect(try await Self.get(client, server, path: "/b") == "response 1")
            #expect(Self.accepted(server) == 1)

            // A copy shares the pool; a POST with headers and then a plain GET on the same
            // connection: the reset handle must not carry the earlier body or headers along.
            let copy = client
            let post = HTTPRequestSpec(
                method: "POST", url: "http://127.0.0.1:\(server.port)/c",
                headers: [(name: "X-Once", value: "1")], body: Array("hello".utf8))
            let posted = try await copy.execute(post)
            #expect(String(decoding: try await posted.collectBody(), as: UTF8.self) == "response 2")
            #expect(try await Self.get(client, server, path: "/d") == "response 3")
            #expect(Self.accepted(server) == 1)

            let requests = server.requests.withLock { $0 }
            try #require(requests.count == 4)
            #expect(requests[2].hasPrefix("POST /c HTTP/1.1\r\n"))
            #expect(requests[2].contains("X-Once: 1\r\n"))
            #expect(requests[2].hasSuffix("\r\n\r\nhello"))
            #expect(requests[3].hasPrefix("GET /d HTTP/1.1\r\n"))
            #expect(!requests[3].contains("X-Once"))
            #expect(requests[3].hasSuffix("\r\n\r\n"), "the GET must carry no body")
        }
    }

    @Test("5 concurrent requests open 5 connections; the next 5 sequential ones reuse them")
    func concurrentThenSequential() async throws {
        // Every response waits until all 5 concurrent requests arrived, so none of them can finish
        // (and free its connection) before the others started: exactly 5 connections.
        let responder: @Sendable (Int) -> [ScriptedHTTPServer.Step] = { index in
            [.awaitRequests(5)] + Self.respond(index)
        }
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: responder) { server in
            let client = CurlHTTPClient()
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<5 { group.addTask { try await Self.get(client, server) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(bodies) == Set((0..<5).map { "response \($0)" }))
            #expect(Self.accepted(server) == 5)

            for index in 5..<10 {
                #expect(try await Self.get(client, server) == "response \(index)")
            }
            #expect(Self.accepted(server) == 5, "sequential requests must reuse the pooled connections")
            #expect(server.requests.withLock { $0.count } == 10)
        }
    }

    @Test("two clients never share a connection")
    func separateClients() async throws {
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: Self.respond) { server in
            let first = CurlHTTPClient()
            let second = CurlHTTPClient()
            _ = try await Self.get(first, server)
            _ = try await Self.get(second, server)
            #expect(Self.accepted(server) == 2)
            // Each keeps its own connection for its next request.
            _ = try await Self.get(first, server)
            _ = try await Self.get(second, server)
            #expect(Self.accepted(server) == 2)
        }
    }

    @Test("one client keeps a connection per origin")
    func originsKeptApart() async throws {
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: Self.respond) { one in
            try await ScriptedHTTPServer.withServer(keepAlive: true, responder: Self.respond) { two in
                let client = CurlHTTPClient()
                for _ in 0..<3 {
                    _ = try await Self.get(client, one)
                    _ = try await Self.get(client, two)
                }
                #expect(Self.accepted(one) == 1)
                #expect(Self.accepted(two) == 1)
            }
        }
    }

    @Test("maxIdleConnections 0 turns reuse off")
    func reuseOff() async throws {
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: Self.respond) { server in
            let client = CurlHTTPClient(maxIdleConnections: 0)
            #expect(client.maxIdleConnections == 0)
            _ = try await Self.get(client, server)
            _ = try await Self.get(client, server)
            #expect(Self.accepted(server) == 2)
        }
    }

    @Test("a body dropped after a partial read does not poison the pool")
    func droppedBody() async throws {
        let responder: @Sendable (Int) -> [ScriptedHTTPServer.Step] = { index in
            guard index == 0 else { return Self.respond(index) }
            // The first response never ends: the client reads one chunk and walks away.
            return [.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .write(chunk("first")), .stall]
        }
        try await ScriptedHTTPServer.withServer(keepAlive: true, responder: responder) { server in
            let client = CurlHTTPClient()
            let response = try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(server.port)/partial"))
            do {
                let iterator = response.body.makeAsyncIterator()
                #expect(try await iterator.next() == Array("first".utf8))
            }  // the iterator is dropped here, mid-body: that cancels the transfer

            // curl aborts the transfer and closes that connection (its response was never finished).
            try await Self.waitUntil { server.closedConnections.withLock { $0 } == 1 }
            #expect(server.closedConnections.withLock { $0 } == 1)

            // The next request gets a fresh connection, which then is reused.
            #expect(try await Self.get(client, server) == "response 1")
            #expect(Self.accepted(server) == 2)
            #expect(try await Self.get(client, server) == "response 2")
            #expect(Self.accepted(server) == 2)
        }
    }
}
