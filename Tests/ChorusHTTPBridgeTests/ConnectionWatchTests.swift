@testable import ChorusHTTPBridge
import Synchronization
import Testing

/// The per-connection close signals behind keep-alive SSE (``ConnectionWatch``).
@Suite("Connection watches", .timeLimit(.minutes(1)))
struct ConnectionWatchTests {
    @Test("every open connection has a watch, and a closed connection gives it back")
    func watchesFollowConnections() async throws {
        try await withBridge { fixture in
            var connections: [HTTPConnection] = []
            for index in 0..<20 {
                let connection = try await HTTPConnection.connect(port: fixture.port)
                if index.isMultiple(of: 2) {
                    try await connection.postAnalyze(analyzeBody("Watch \(index) [demo:fast] [demo:words=3]", models: ["gemini"]))
                } else {
                    try await connection.sendRequest("GET", "/healthz")
                }
                #expect(try await connection.readResponse().status == 200)
                connections.append(connection)
            }
            #expect(fixture.bridge.connectionWatches.count == 20)
            for connection in connections { connection.close() }
            #expect(await eventually { fixture.bridge.connectionWatches.count == 0 }, "left: \(fixture.bridge.connectionWatches.count)")
        }
    }

    @Test("a handler registered after the close runs at once; a cancelled one never runs")
    func closeSemantics() {
        let watch = ConnectionWatch()
        let runs = Counter()
        let cancelled = watch.onClose { runs.add(100) }
        #expect(cancelled != nil)
        watch.cancel(cancelled)
        _ = watch.onClose { runs.add(1) }
        #expect(watch.close(), "a handler was waiting")
        #expect(!watch.close(), "closing twice runs nothing")
        #expect(runs.value == 1)
        #expect(watch.onClose { runs.add(10) } == nil)
        #expect(runs.value == 11)
    }
}

private final class Counter: Sendable {
    private let storage = Mutex(0)
    func add(_ amount: Int) { storage.withLock { $0 += amount } }
    var value: Int { storage.withLock { $0 } }
}
