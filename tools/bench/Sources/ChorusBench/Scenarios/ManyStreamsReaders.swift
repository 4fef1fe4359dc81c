import BenchKit
import ChorusCore
import ChorusRPCClient
import ChorusWire
import NIOCore
import NIOPosix

/// One call of the many-streams scenario: started `after` the run begins.
struct ManyStreamsCall: Sendable {
    var index: Int
    var query: String
    var models: [String]
    var after: Duration
}

/// What each many-streams call must deliver, checked the same way by both readers: no error
/// event, a clean end, `complete`, and exactly the expected number of text events.
struct ManyStreamsCallCheck {
    private var texts = 0
    private var completed = false
    private var problem: String?

    /// Records one event of the call; text events also go into `tally` with their delay.
    mutating func record(_ event: AnalyzeEvent, into tally: inout DeliveryTally) {
        switch event.payload {
        case .textGeneration(let chunk):
            // A fake upstream's stamped chunk (" @<µs>", `--provider openai`) times the whole relay:
            // the upstream's write, curl, the provider, the server; the orchestrator's stamp starts
            // at the provider's write.
            tally.text(stampedAt: Self.upstreamStamp(chunk.text) ?? event.timestampMicros, receivedAt: unixMicrosNow())
            texts += 1
        case .error(let error):
            if problem == nil { problem = "\(error.model) \(error.code) \(error.message)" }
        case .complete:
            completed = true
        default:
            break
        }
    }

    /// The Unix microseconds in a text of the form " @<digits>", nil for any other text.
    static func upstreamStamp(_ text: String) -> Int64? {
        guard text.utf8.count > 2, text.hasPrefix(" @") else { return nil }
        return Int64(text.dropFirst(2))
    }

    /// The call's first problem, nil when it delivered everything. `failure` is how the transport
    /// ended it (a non-OK CALL_END, a thrown error), nil for a clean end.
    func verdict(failure: String?, expectedTexts: Int) -> String? {
        if let problem { return problem }
        if let failure { return failure }
        if !completed { return "ended without complete" }
        if texts != expectedTexts { return "got \(texts) text events, expected \(expectedTexts)" }
        return nil
    }
}

/// How the many-streams scenario reads its calls (`--reader`): both check every call the same
/// way (ended OK, `complete` seen, every text event there) and tally each text event's delay.
protocol ManyStreamsReader: Sendable {
    /// Runs `calls` over the open connections (call `i` on connection `i % connections`) and
    /// returns what they delivered, counting text events received in `window` (Unix µs) apart.
    func run(_ calls: [ManyStreamsCall], window: Range<Int64>?) async -> DeliveryTally
    func close()
}

/// `--reader wire`: one ``WireStreamConnection`` per connection; its channel handler reads
/// every call of the connection on its event loop.
struct WireReader: ManyStreamsReader {
    let connections: [WireStreamConnection]

    static func open(port: Int, loops: [any EventLoop], expectedTexts: Int) async throws -> WireReader {
        var connections: [WireStreamConnection] = []
        for loop in loops {
            let connection = try await WireStreamConnection.connect(port: port, loop: loop, expectedTexts: expectedTexts)
            connections.append(connection)
            try await connection.ready.get()
        }
        return WireReader(connections: connections)
    }

    func run(_ calls: [ManyStreamsCall], window: Range<Int64>?) async -> DeliveryTally {
        let base = NIODeadline.now()
        for (offset, connection) in connections.enumerated() {
            let mine = calls.filter { $0.index % connections.count == offset }
            connection.start(mine.map { (query: $0.query, models: $0.models, at: base + TimeAmount($0.after)) }, window: window)
        }
        var total = DeliveryTally(window: window)
        for (offset, connection) in connections.enumerated() {
            do {
                total.merge(try await connection.done.get())
            } catch {
                total.finish(problem: "connection \(offset) failed: \(error)")
            }
        }
        return total
    }

    func close() {
        for connection in connections { connection.close() }
    }
}

/// `--reader client`: `ChorusClient.analyze` with one reading task per call, on the global pool
/// or (`onLoops`) preferring its connection's event loop. `--reader sink` (`pushed`): the same
/// client and tasks, but each call's events are pushed into a ``TallySink`` from the connection's
/// read loop (`ChorusClient.analyze(_:context:sink:)`), so a task wakes at a call's end only.
struct ClientReader: ManyStreamsReader {
    let clients: [ChorusClient]
    let executors: [(any TaskExecutor)?]
    let expectedTexts: Int
    var pushed = false

    static func open(port: Int, loops: [any EventLoop], onLoops: Bool, pushed: Bool, expectedTexts: Int) async throws -> ClientReader {
        let clients = loops.map { ChorusClient(host: "127.0.0.1", port: port, eventLoopGroup: $0) }
        let executors: [(any TaskExecutor)?] = loops.map { onLoops ? EventLoopTaskExecutor(eventLoop: $0) : nil }
        // Open every connection first (a health call each) so the ramp measures calls, not connects.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask { _ = try await client.health() }
            }
            try await group.waitForAll()
        }
        return ClientReader(clients: clients, executors: executors, expectedTexts: expectedTexts, pushed: pushed)
    }

    func run(_ calls: [ManyStreamsCall], window: Range<Int64>?) async -> DeliveryTally {
        let started = ContinuousClock.now
        let total = Locked(DeliveryTally(window: window))
        await withTaskGroup(of: Void.self) { group in
            for call in calls {
                let client = clients[call.index % clients.count]
                let pushed = self.pushed
                let read: @Sendable () async -> Void = {
                    try? await Task.sleep(until: started + call.after)
                    var tally = DeliveryTally(window: window)
                    var check = ManyStreamsCallCheck()
                    var failure: String?
                    let request = AnalyzeRequest(query: call.query, models: call.models)
                    do {
                        if pushed {
                            let sink = TallySink(window: window)
                            defer { (check, tally) = sink.result }
                            try await client.analyze(request, context: CallContext(), sink: sink)
                        } else {
                            for try await event in client.analyze(request) {
                                check.record(event, into: &tally)
                            }
                        }
                    } catch {
                        failure = "failed: \(error)"
                    }
                    tally.finish(problem: check.verdict(failure: failure, expectedTexts: expectedTexts).map { "call \(call.index): \($0)" })
                    total.withLock { $0.merge(tally) }
                }
                // Only with an executor: `addTask(executorPreference: nil)` still marks the task as
                // having a preference, and the runtime then looks it up under the task's status lock
                // at every enqueue and run (12 % of this reader's CPU in `perf`).
                if let executor = executors[call.index % clients.count] {
                    group.addTask(executorPreference: executor, operation: read)
                } else {
                    group.addTask(operation: read)
                }
            }
        }
        return total.value
    }

    func close() {
        for client in clients { client.close() }
    }
}

/// The `sink` reader's per-call sink: checks and tallies each event as the client's read loop
/// pushes it; never holds the server back (like the `wire` reader, which always returns credit).
final class TallySink: AnalyzeEventSink {
    private let state: Locked<(check: ManyStreamsCallCheck, tally: DeliveryTally)>

    init(window: Range<Int64>?) {
        state = Locked((ManyStreamsCallCheck(), DeliveryTally(window: window)))
    }

    func append(_ event: AnalyzeEvent) {
        state.withLock { $0.check.record(event, into: &$0.tally) }
    }

    func waitForCapacity() async throws {}

    var result: (ManyStreamsCallCheck, DeliveryTally) { state.withLock { ($0.check, $0.tally) } }
}
