import BenchKit

/// How the client reads one streaming call.
struct StreamPlan: Sendable {
    var workload: StreamWorkload
    /// Stop reading after this many text events, for this long, then drain the rest.
    var pause: (afterEvents: Int, duration: Duration)?
    /// Told "paused" when the client stops reading and "draining" when it starts again.
    var onPhase: (@Sendable (String) -> Void)?

    init(workload: StreamWorkload, pause: (afterEvents: Int, duration: Duration)? = nil, onPhase: (@Sendable (String) -> Void)? = nil) {
        self.workload = workload
        self.pause = pause
        self.onPhase = onPhase
    }
}

/// What the client saw.
struct StreamOutcome: Sendable {
    var textEvents = 0
    var payloadBytes = 0
    /// Everything received (the Chorus side adds start, model_start, model_end, complete).
    var totalEvents = 0
    /// Lost, duplicated, reordered or corrupted events (the first few of them).
    var problems: [String] = []
}

/// A client of one side (Chorus or gRPC) that runs streaming calls on one connection.
protocol StreamClient: Sendable {
    func stream(_ plan: StreamPlan) async throws -> StreamOutcome
    func close() async
}

/// Checks that text events arrive complete and in order, and counts them.
struct TextChecker {
    let plan: StreamPlan
    let texts: StreamWorkload.Texts
    var outcome = StreamOutcome()

    init(plan: StreamPlan) {
        self.plan = plan
        self.texts = plan.workload.texts
    }

    /// Records text event number `seq` (1-based among the texts) with `text`.
    @inline(__always)
    mutating func text(seq: UInt64, _ text: String) {
        let index = outcome.textEvents
        if seq != UInt64(index + 1) { problem("text event \(index + 1) arrived with seq \(seq)") }
        if text != texts.text(at: index) { problem("text event \(index + 1) has the wrong text (\(text.utf8.count) bytes)") }
        outcome.textEvents += 1
        outcome.payloadBytes += text.utf8.count
    }

    /// Sleeps when the plan says so (called after each text event).
    @inline(__always)
    func pauseIfPlanned() async throws {
        guard let pause = plan.pause, outcome.textEvents == pause.afterEvents else { return }
        plan.onPhase?("paused")
        try await Task.sleep(for: pause.duration)
        plan.onPhase?("draining")
    }

    mutating func problem(_ message: String) {
        if outcome.problems.count < 5 { outcome.problems.append(message) }
        else if outcome.problems.count == 5 { outcome.problems.append("…") }
    }

    mutating func finish() -> StreamOutcome {
        if outcome.textEvents != plan.workload.count {
            problem("received \(outcome.textEvents) of \(plan.workload.count) text events")
        }
        return outcome
    }
}
