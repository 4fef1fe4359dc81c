import ChorusCore
import Testing
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
///
/// By default its writer takes chunks without waiting, as the orchestrator's does, and reports the
/// consumer behind after every third chunk, so the upstream providers relay on curl's thread and
/// pause for room now and then; `.waiting` offers `write` only, the path providers take for
/// writers that cannot be written without waiting.
final class TextCollector: Sendable {
    enum Mode: Sendable, CustomTestStringConvertible {
        /// Only `write(_:)`.
        case waiting
        /// `writeWithoutWaiting(_:)` too, answering `mustWait` after every `behindEvery`th chunk.
        case withoutWaiting(behindEvery: Int)

        var testDescription: String {
            switch self {
            case .waiting: "waiting writes"
            case .withoutWaiting(let every): "writes without waiting, behind every \(every)"
            }
        }
    }

    private struct State {
        var chunks: [String] = []
        /// "prepare" and "prepared" for the starts and ends of preparation steps, "text" per chunk.
        var timeline: [String] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
        var immediateWrites = 0
        /// `mustWait` answers not yet followed by `waitForRoom`.
        var roomOwed = 0
        /// A write came while `waitForRoom` was owed.
        var wroteWhileOwed = false
    }

    private let state = Mutex(State())
    let mode: Mode

    init(mode: Mode = .withoutWaiting(behindEvery: 3)) {
        self.mode = mode
    }

    var chunks: [String] { state.withLock { $0.chunks } }
    var text: String { chunks.joined() }
    /// What happened in order: "prepare" and "prepared" around each preparation step (an upload,
    /// frame sampling), "text" for each chunk.
    var timeline: [String] { state.withLock { $0.timeline } }
    /// Chunks written without waiting.
    var immediateWrites: Int { state.withLock { $0.immediateWrites } }
    /// True when the provider kept the writer's contract: `waitForRoom` after each `mustWait`, before
    /// the next write and before it returned.
    var roomWaitsKept: Bool { state.withLock { $0.roomOwed == 0 && !$0.wroteWhileOwed } }

    var writer: ModelOutputWriter {
        let immediate: ModelOutputWriter.Immediate?
        switch mode {
        case .waiting:
            immediate = nil
        case .withoutWaiting(let every):
            immediate = ModelOutputWriter.Immediate(
                write: { text in
                    let behind = self.record(text) { state in
                        state.immediateWrites += 1
                        guard state.immediateWrites % every == 0 else { return false }
                        state.roomOwed += 1
                        return true
                    }
                    return behind ? .mustWait : .written
                },
                waitForRoom: {
                    await Task.yield()
                    self.state.withLock { $0.roomOwed -= 1 }
                })
        }
        return ModelOutputWriter(
            { text in _ = self.record(text) { _ in false } },
            immediate: immediate,
            preparation: { active in self.state.withLock { $0.timeline.append(active ? "prepare" : "prepared") } })
    }

    private func record(_ text: String, _ update: (inout State) -> Bool) -> Bool {
        let (waiters, result) = state.withLock { state in
            if state.roomOwed > 0 { state.wroteWhileOwed = true }
            state.chunks.append(text)
            state.timeline.append("text")
            defer { state.waiters.removeAll() }
            return (state.waiters, update(&state))
        }
        for waiter in waiters { waiter.resume() }
        return result
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
