import BenchKit
import ChorusCore

/// A `ChorusService` that streams a synthetic answer as fast as the sink accepts it:
/// `start`, `model_start`, N `text_generation` events (16–64 byte texts), `model_end`, `complete`.
///
/// The query is `count=N size=S` (see ``StreamWorkload``). Every event is appended and then
/// `waitForCapacity()` is awaited, exactly like the orchestrator's producers do.
struct BenchChorusService: ChorusService {
    func analyze(_ request: AnalyzeRequest, context: CallContext, sink: some AnalyzeEventSink) async throws {
        guard let workload = StreamWorkload(query: request.query) else {
            throw ChorusError(.invalidArgument, "bench query must be 'count=N [size=S]', got '\(request.query)'")
        }
        let started = ContinuousClock.now
        let model = TextWorkload.model
        let requestID = request.requestID ?? "bench"
        let texts = workload.texts
        var seq: UInt64 = 0
        func emit(_ payload: AnalyzeEvent.Payload) async throws {
            seq += 1
            sink.append(AnalyzeEvent(seq: seq, timestampMicros: unixMicrosNow(), payload: payload))
            try await sink.waitForCapacity()
        }
        try await emit(.start(StreamStart(models: [model], recommended: false, requestID: requestID)))
        try await emit(.modelStart(ModelStart(model: model, provider: "bench")))
        for index in 0..<workload.count {
            try await emit(.textGeneration(TextGeneration(model: model, text: texts.text(at: index))))
        }
        let duration = ContinuousClock.now - started
        let bytes = texts.payloadBytes(count: workload.count)
        try await emit(.modelEnd(ModelEnd(model: model, stats: ModelStats(duration: duration, characters: bytes, finishReason: "stop"))))
        try await emit(.complete(StreamComplete(succeeded: [model], failed: [], duration: duration, requestID: requestID)))
    }

    func listModels(context: CallContext) async throws -> [ModelInfo] {
        [ModelInfo(name: TextWorkload.model, provider: "bench", demo: true)]
    }

    func health(context: CallContext) async throws -> HealthReport {
        HealthReport(status: .serving, version: "chorus-bench", uptime: .zero, activeCalls: 0)
    }
}
