import ChorusCore
import Synchronization

/// A test service in the spirit of the gRPC interop TestService: the request's query tells it
/// what to do, so each conformance case can ask for exact sizes, statuses and delays.
///
/// Instructions (space separated): `sizes:31415,9,2653` (one text event per size),
/// `status:<code>:<message>` (finish with that status), `sleep` (never finish),
/// `flood:<count>` (emit as fast as the transport allows), `interval:<ms>` (delay between events).
final class ConformanceService: ChorusService {
    struct Observations {
        var started = 0
        var cancelled = 0
        var produced = 0
        var peers: [String] = []
        var metadata: [[(key: String, value: String)]] = []
    }

    let observations = Mutex(Observations())

    func analyze(_ request: AnalyzeRequest, context: CallContext, sink: some AnalyzeEventSink) async throws {
        observations.withLock {
            $0.started += 1
            $0.peers.append(context.peer ?? "?")
            $0.metadata.append(context.metadata)
        }
        do {
            try await run(request.query, sink: sink)
        } catch {
            if error is CancellationError || Task.isCancelled { observations.withLock { $0.cancelled += 1 } }
            throw error
        }
    }

    private func run(_ query: String, sink: some AnalyzeEventSink) async throws {
        var seq: UInt64 = 0
        var interval: Duration?
        func emit(_ text: String) async throws {
            seq += 1
            sink.append(AnalyzeEvent(seq: seq, timestampMicros: 0, payload: .textGeneration(TextGeneration(model: "test", text: text))))
            observations.withLock { $0.produced += 1 }
            try await sink.waitForCapacity()
            if let interval { try await Task.sleep(for: interval) }
        }
        // `status:` takes the rest of the query as its message, which may contain spaces.
        var instructions = query.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if let index = instructions.firstIndex(where: { $0.hasPrefix("status:") }) {
            instructions = Array(instructions[..<index]) + [instructions[index...].joined(separator: " ")]
        }
        for instruction in instructions where !instruction.isEmpty {
            let parts = instruction.split(separator: ":", maxSplits: 2).map(String.init)
            switch parts[0] {
            case "interval":
                interval = .milliseconds(Int(parts[1])!)
            case "sizes":
                for size in parts[1].split(separator: ",") {
                    try await emit(String(repeating: "x", count: Int(size)!))
                }
            case "flood":
                for index in 0..<Int(parts[1])! {
                    try await emit("event \(index) of a long stream")
                }
            case "status":
                throw ChorusError(ChorusError.Code(rawValue: UInt32(parts[1])!), parts.count > 2 ? parts[2] : "")
            case "sleep":
                try await Task.sleep(for: .seconds(3600))
            default:
                break
            }
        }
    }

    func listModels(context: CallContext) async throws -> [ModelInfo] {
        [ModelInfo(name: "test", provider: "conformance", demo: true)]
    }

    func health(context: CallContext) async throws -> HealthReport {
        HealthReport(status: .serving, version: "test", uptime: .zero, activeCalls: 0)
    }

    /// Waits until `condition` holds on the observations (polling; bounded).
    func wait(timeout: Duration = .seconds(5), until condition: (Observations) -> Bool) async throws -> Observations {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let snapshot = observations.withLock { $0 }
            if condition(snapshot) { return snapshot }
            try await Task.sleep(for: .milliseconds(5))
        }
        return observations.withLock { $0 }
    }
}
