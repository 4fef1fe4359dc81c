import BenchKit
import Foundation

/// Registry files for the scenarios that run the real orchestrator (`serve-chorus --registry`).
enum BenchRegistry {
    /// A demo model: first chunk after `firstChunkMs`, then one word every `intervalMs`, `words` words.
    struct DemoModel {
        var name: String
        var firstChunkMs: Int
        var intervalMs: Int
        var words: Int
    }

    static func demo(_ models: [DemoModel]) -> String {
        let entries = models.map { model in
            """
                {"name": "\(model.name)", "provider": "demo", "upstream_model": "bench-\(model.name)",
                 "timeouts": {"first_chunk_ms": 600000, "idle_ms": 600000, "total_ms": 3600000},
                 "demo": {"first_chunk_delay_ms": \(model.firstChunkMs), "chunk_interval_ms": \(model.intervalMs),
                          "answer_words": [\(model.words), \(model.words)], "words_per_chunk": [1, 1]}}
            """
        }
        return "{\n  \"models\": [\n" + entries.joined(separator: ",\n") + "\n  ]\n}\n"
    }

    /// OpenAI-compatible models, each served by one of the bench's fake upstreams (`port`).
    static func fakeOpenAI(_ models: [(name: String, port: Int)]) -> String {
        let entries = models.map { model in
            """
                {"name": "\(model.name)", "provider": "openai-compatible", "base_url": "http://127.0.0.1:\(model.port)/v1",
                 "upstream_model": "gpt-4o", "retry": {"max_attempts": 1},
                 "timeouts": {"first_chunk_ms": 60000, "idle_ms": 60000, "total_ms": 600000, "connect_ms": 5000}}
            """
        }
        return "{\n  \"models\": [\n" + entries.joined(separator: ",\n") + "\n  ]\n}\n"
    }

    /// Writes `contents` to a fresh temporary file and returns its path.
    static func write(_ contents: String, name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent("\(name).json")
        try Data(contents.utf8).write(to: url)
        return url.path
    }
}
