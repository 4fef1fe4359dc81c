import ChorusCore
import Synchronization

/// What the adapter test helpers (`OpenAITesting`, `GeminiTesting`, `TwelveLabsTesting`) share:
/// reading a run's outcome and the fake's request records.
protocol ProviderTesting {}

extension ProviderTesting {
    static func error(_ result: Result<ModelCompletion, ChorusError>) -> ChorusError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    /// A request header as the fake recorded it (names compared case-insensitively).
    static func header(_ record: [String: Any], _ name: String) -> String? {
        let headers = record["headers"] as? [String: Any] ?? [:]
        return headers.first { $0.key.lowercased() == name.lowercased() }?.value as? String
    }
}

/// Collects what a provider writes, and lets a test wait for the first chunks.
final class TextCollector: Sendable {
    private struct State {
        var chunks: [String] = []
        /// "prepare" and "prepared" for the starts and ends of preparation steps, "text" per chunk.
        var timeline: [String] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    init() {}

    var chunks: [String] { state.withLock { $0.chunks } }
    var text: String { chunks.joined() }
    /// What happened in order: "prepare" and "prepared" around each preparation step (an upload,
    /// frame sampling), "text" for each chunk.
    var timeline: [String] { state.withLock { $0.timeline } }

    var writer: ModelOutputWriter {
        ModelOutputWriter(
            { text in
                let waiters = self.state.withLock { state in
                    state.chunks.append(text)
                    state.timeline.append("text")
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
            },
            preparation: { active in self.state.withLock { $0.timeline.append(active ? "prepare" : "prepared") } })
    }

    /// Returns once at least `count` chunks were written.
    func waitForChunks(_ count: Int) async {
        while chunks.count < count {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state in
                    if state.chunks.count >= count { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
