import Foundation
import Testing

/// The front ends' way of reading the stream (split each received chunk on "\n", parse every
/// `data: ` line, no buffering across chunks), run for real by Node's fetch in tools/naive_client.mjs.
@Suite(
    "A naive fetch-reader client (Node) receives every event",
    .timeLimit(.minutes(1)),
    .enabled(if: ExternalProcess.find("node") != nil, "node is not installed: apt-get install -y nodejs")
)
struct NaiveClientTests {
    static let script = ExternalProcess.repositoryRoot.appendingPathComponent("tools/naive_client.mjs").path

    /// Runs the naive client and checks it printed every event: seq 1…n, start first, complete last.
    static func runNaiveClient(_ arguments: [String], expectModels models: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let node = try #require(ExternalProcess.find("node"))
        let output = try await ExternalProcess.run(node, [script] + arguments)
        #expect(output.status == 0, "naive client failed: \(output.stderr)", sourceLocation: sourceLocation)
        let events = output.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        #expect(events.count == output.stdout.split(separator: "\n").count, "every stdout line is a JSON event", sourceLocation: sourceLocation)
        let seqs = events.compactMap { ($0["seq"] as? NSNumber)?.intValue }
        #expect(seqs.count == events.count, sourceLocation: sourceLocation)
        #expect(!seqs.isEmpty && seqs == Array(1...max(seqs.count, 1)), "received every event: \(seqs.count) events, last seq \(seqs.last ?? 0)", sourceLocation: sourceLocation)
        #expect(events.first?["event_type"] as? String == "start", sourceLocation: sourceLocation)
        #expect(events.first?["models"] as? [String] == models, sourceLocation: sourceLocation)
        #expect(events.last?["event_type"] as? String == "complete", sourceLocation: sourceLocation)
        for model in models {
            let ends = events.filter { $0["event_type"] as? String == "model_end" && $0["model_name"] as? String == model }
            #expect(ends.count == 1, "\(model) completed", sourceLocation: sourceLocation)
        }
    }

    @Test("POST, fast demo models: the naive client parses every event")
    func postFast() async throws {
        try await withBridge { fixture in
            try await Self.runNaiveClient(
                ["\(fixture.origin)/api/analyze/stream/parallel", analyzeBody("What is happening in this video? [demo:fast] [demo:words=60]", models: allModels)],
                expectModels: allModels
            )
        }
    }

    @Test("POST, demo models at their real pace (many small chunks): every event arrives")
    func postPaced() async throws {
        try await withBridge { fixture in
            try await Self.runNaiveClient(
                ["\(fixture.origin)/api/analyze/stream/parallel", analyzeBody("Describe the scene [demo:words=12]", models: allModels)],
                expectModels: allModels
            )
        }
    }

    @Test("GET with query parameters: the naive client parses every event")
    func getQuery() async throws {
        try await withBridge { fixture in
            try await Self.runNaiveClient(
                ["\(fixture.origin)/api/analyze/stream/parallel?query=Who%20is%20there%3F%20%5Bdemo%3Afast%5D%20%5Bdemo%3Awords%3D20%5D&models=gpt4o,gemini"],
                expectModels: ["gpt4o", "gemini"]
            )
        }
    }

    @Test("the naive client really is naive: an event split across two chunks makes it fail")
    func clientDetectsSplitEvent() async throws {
        let node = try #require(ExternalProcess.find("node"))
        let start = #"id: 1\#ndata: {"event_type":"start","seq":1,"models":["gemini"]}\#n\#n"#
        let complete = #"id: 2\#ndata: {"event_type":"complete","seq":2,"succeeded":["gemini"],"failed":[]}\#n\#n"#
        let done = "data: [DONE]\n\n"
        let whole = try await FakeSSEServer.serve(pieces: [start, complete, done]) { port in
            try await ExternalProcess.run(node, [Self.script, "http://127.0.0.1:\(port)/"])
        }
        #expect(whole.status == 0, "whole events per chunk pass: \(whole.stderr)")
        let split = complete.index(complete.startIndex, offsetBy: 30)
        let broken = try await FakeSSEServer.serve(pieces: [start, String(complete[..<split]), String(complete[split...]), done]) { port in
            try await ExternalProcess.run(node, [Self.script, "http://127.0.0.1:\(port)/"])
        }
        #expect(broken.status == 1, "an event split over chunks breaks a naive client: \(broken.stderr)")
        #expect(broken.stderr.contains("cannot parse"))
    }

    @Test("the naive client exits 2 on an HTTP error status")
    func clientDetectsHTTPError() async throws {
        try await withBridge { fixture in
            let node = try #require(ExternalProcess.find("node"))
            let output = try await ExternalProcess.run(node, [Self.script, "\(fixture.origin)/api/analyze/stream/parallel", #"{"models":["gemini"]}"#])
            #expect(output.status == 2)
            #expect(output.stderr.contains("HTTP 400"))
        }
    }
}
