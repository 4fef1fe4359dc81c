import ChorusCore
import ChorusOrchestrator
import ChorusTestSupport
import Logging

/// A logger that drops everything, for orchestrators whose logs a test does not inspect.
let silentLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Builds a registry from (name, provider, settings) triples; the recommendation table falls back to
/// the first model so any set of names is valid.
func makeRegistry(
    _ models: [(name: String, provider: any ModelProvider, settings: ModelSettings)],
    recommendations: RecommendationTable? = nil
) throws -> ModelRegistry {
    try ModelRegistry(
        entries: models.map { ModelRegistry.Entry(name: $0.name, provider: $0.provider, settings: $0.settings) },
        recommendations: recommendations ?? RecommendationTable(rules: [], fallback: [models[0].name])
    )
}

extension ModelSettings {
    /// Settings with explicit clocks, defaulting to values no test reaches.
    static func clocks(
        firstChunk: Duration = .seconds(30), idle: Duration = .seconds(30), total: Duration = .seconds(60)
    ) -> ModelSettings {
        ModelSettings(firstChunkTimeout: firstChunk, idleTimeout: idle, totalTimeout: total)
    }
}

/// Awaits `task`, cancelling it when the awaiting test is cancelled (for example by its time limit), so
/// a stuck call cannot keep the test process alive.
func value<T: Sendable>(of task: Task<T, any Error>) async throws -> T {
    try await withTaskCancellationHandler {
        try await task.value
    } onCancel: {
        task.cancel()
    }
}

/// Awaits `call` while playing a slow reader that drains `sink` every `interval`.
func drainWhileRunning(_ sink: CollectingSink, every interval: Duration, call: Task<Void, any Error>) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await value(of: call) }
        group.addTask {
            while !Task.isCancelled {
                sink.drain()
                try? await Task.sleep(for: interval)
            }
        }
        // The call ends first (the drainer only stops when cancelled); then stop the drainer.
        defer { group.cancelAll() }
        try await group.next()
    }
}

/// Runs one call into a fresh unbounded sink and returns its events.
func collect(
    _ service: some ChorusService, _ request: AnalyzeRequest, context: CallContext = CallContext()
) async throws -> [AnalyzeEvent] {
    let sink = CollectingSink()
    try await service.analyze(request, context: context, sink: sink)
    return sink.events
}

extension Array where Element == AnalyzeEvent {
    func events(of model: String) -> [AnalyzeEvent] { filter { $0.model == model } }

    /// The concatenated text of `model`.
    func text(of model: String) -> String {
        compactMap { event -> String? in
            if case .textGeneration(let chunk) = event.payload, chunk.model == model { return chunk.text }
            return nil
        }.joined()
    }

    func error(of model: String) -> ModelError? {
        for event in self { if case .error(let error) = event.payload, error.model == model { return error } }
        return nil
    }

    func stats(of model: String) -> ModelStats? {
        for event in self { if case .modelEnd(let end) = event.payload, end.model == model { return end.stats } }
        return nil
    }

    var start: StreamStart? {
        for event in self { if case .start(let start) = event.payload { return start } }
        return nil
    }

    var complete: StreamComplete? {
        for event in self { if case .complete(let complete) = event.payload { return complete } }
        return nil
    }

    /// Everything wrong with the stream's shape, empty when it follows the Analyze contract:
    /// contiguous `seq` from 1, `start` first, per model `model_start` before its text and exactly one
    /// terminal event with nothing after it, and (when `complete` is true) `complete` last.
    func shapeProblems(models: [String], complete expectComplete: Bool = true) -> [String] {
        var problems: [String] = []
        for (index, event) in enumerated() where event.seq != UInt64(index + 1) {
            problems.append("event \(index) has seq \(event.seq)")
        }
        if first?.eventType != "start" { problems.append("first event is \(first?.eventType ?? "missing"), not start") }
        if expectComplete {
            if last?.eventType != "complete" {
                problems.append("last event is \(last?.eventType ?? "missing"), not complete")
            }
            if filter({ $0.eventType == "complete" }).count != 1 { problems.append("complete appears other than once") }
        } else if contains(where: { $0.eventType == "complete" }) {
            problems.append("unexpected complete")
        }
        for model in models {
            let types = events(of: model).map(\.eventType)
            if types.first != "model_start" { problems.append("\(model): first event is \(types.first ?? "missing")") }
            if types.filter({ $0 == "model_start" }).count != 1 { problems.append("\(model): model_start count != 1") }
            let terminals = types.filter { $0 == "model_end" || $0 == "error" }
            if expectComplete, terminals.count != 1 { problems.append("\(model): \(terminals.count) terminal events") }
            if terminals.count > 1 { problems.append("\(model): several terminal events") }
            if let end = types.firstIndex(where: { $0 == "model_end" || $0 == "error" }), end != types.count - 1 {
                problems.append("\(model): events after its terminal event")
            }
        }
        let known = Set(models)
        for event in self {
            if let model = event.model, !known.contains(model) { problems.append("event for unknown model \(model)") }
        }
        return problems
    }
}
