import BenchKit
import ChorusCore
import NIOCore
import NIOHTTP1
import Synchronization

/// Benchmark 6: the HTTP/SSE bridge.
///
/// 1. Throughput: the same synthetic stream (`count=N`, 16–64 byte texts) through
///    `POST /api/analyze/stream/parallel` and through Chorus RPC, against one server process that
///    runs both on the same service: events/s and server CPU per event; the ratio SSE / RPC is the
///    bridge's cost over the binary protocol.
/// 2. Concurrent SSE clients on one core: the server process is pinned to CPU 0 (`taskset`), the
///    clients run on the other core; C clients each stream one call of 3 demo models at 20
///    chunks/s. Reported per level: delivered events/s, delay p50/p99 (event `timestamp`, stamped
///    when the provider yields, to receipt), server CPU and RSS.
struct SSEBridgeScenario: Scenario {
    struct Config: Sendable {
        var events = 300_000
        var runs = 3
        var clientLevels = [250, 500, 1_000]
        var chunksPerSecond = 20
        var answerSeconds = 8.0
        var rampSeconds = 2.0
        /// Both parts through a second process: the bridge's service is a `ChorusClient` of the
        /// first (`serve-chorus --upstream`, as `chorusd bridge --upstream`). Throughput's server
        /// CPU is the bridge process's for SSE, the upstream's for RPC; with concurrent clients the
        /// bridge process is the one pinned to CPU 0 and measured.
        var viaRPC = false
        static let smoke = Config(events: 5_000, runs: 1, clientLevels: [20], answerSeconds: 0.5, rampSeconds: 0.1)
    }

    var config: Config
    let name = "sse-bridge"
    let title = "the HTTP/SSE bridge: events/s vs. Chorus RPC, concurrent SSE clients on one core"
    let baseline = "Chorus RPC"

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var result = ScenarioResult(name: name, title: title, baseline: baseline, config: [
            "events": .int(config.events),
            "runs": .int(config.runs),
            "client_levels": .array(config.clientLevels.map { .int($0) }),
            "chunks_per_second_per_model": .int(config.chunksPerSecond),
            "answer_seconds": .number(config.answerSeconds),
            "via_rpc": .bool(config.viaRPC),
            "placement": config.viaRPC
                ? "the bridge in its own process over a ChorusClient of an RPC server process; throughput: client here; clients: the bridge pinned to CPU 0"
                : "throughput: one server process with RPC and bridge, client here; clients: server pinned to CPU 0",
        ])
        try await throughput(into: &result, context: context)
        try await concurrentClients(into: &result, context: context)
        return result
    }

    // MARK: 1. Throughput

    private func throughput(into result: inout ScenarioResult, context: ScenarioContext) async throws {
        let upstream = config.viaRPC ? try ServerProcess.launch(subcommand: "serve-chorus") : nil
        defer { upstream?.stop() }
        let server = try ServerProcess.launch(subcommand: "serve-chorus", arguments: ["--http"] + (upstream.map { ["--upstream", "\($0.port)"] } ?? []))
        defer { server.stop() }
        let rpcServer = upstream ?? server
        let rpcClient = ChorusStreamClient(port: rpcServer.port)
        let httpPort = server.ports[1]
        let workload = StreamWorkload(count: config.events, payloadSize: 0)

        // Warm-up both paths.
        _ = try await rpcClient.stream(StreamPlan(workload: StreamWorkload(count: 10_000, payloadSize: 0)))
        _ = try await Self.sseStream(port: httpPort, workload: StreamWorkload(count: 10_000, payloadSize: 0))

        var sse: [(rate: Double, cpu: Double?)] = []
        var rpc: [(rate: Double, cpu: Double?)] = []
        for index in 0..<config.runs {
            for side in (index % 2 == 0 ? ["sse", "rpc"] : ["rpc", "sse"]) {
                let pid = side == "sse" ? server.pid : rpcServer.pid
                let cpu0 = ProcStats.cpuSeconds(pid: pid)
                let clock = ContinuousClock()
                let started = clock.now
                let problems: [String]
                if side == "sse" {
                    problems = try await Self.sseStream(port: httpPort, workload: workload)
                } else {
                    problems = try await rpcClient.stream(StreamPlan(workload: workload)).problems
                }
                let wall = (clock.now - started).secondsDouble
                let cpu = ProcStats.cpuSeconds(pid: pid).flatMap { after in cpu0.map { (after - $0) * 1e6 / Double(config.events) } }
                result.failures += problems.map { "\(side) run \(index + 1): \($0)" }
                let rate = Double(config.events) / wall
                context.log("\(name): run \(index + 1)/\(config.runs) \(side): \(Table.format(rate)) events/s, server CPU/event \(cpu.map { String(format: "%.2f", $0) } ?? "?") µs")
                if side == "sse" { sse.append((rate, cpu)) } else { rpc.append((rate, cpu)) }
            }
        }
        await rpcClient.close()
        if !server.isRunning { result.failures.append("server exited during the throughput part") }
        result.metrics += [
            Metric("SSE events/s (one stream)", unit: "1/s", better: .higher, chorus: median(sse.map(\.rate)), baseline: median(rpc.map(\.rate))),
            Metric("server CPU/event", unit: "µs", better: .lower, chorus: median(sse.compactMap(\.cpu)), baseline: median(rpc.compactMap(\.cpu))),
        ]
    }

    /// One SSE call of `workload`; returns the problems found (lost, reordered or wrong events).
    static func sseStream(port: Int, workload: StreamWorkload) async throws -> [String] {
        try await HTTPConnection.with(port: port) { connection in
            var scanner = SSEScanner()
            var expectedID: UInt64 = 1
            var problems: [String] = []
            let count = UInt64(workload.count)
            let head = try await connection.request(.POST, "/api/analyze/stream/parallel", json: #"{"query": "\#(workload.query)"}"#) { chunk in
                scanner.feed(chunk) { id, event in
                    guard let id else { return }
                    if id != expectedID, problems.count < 10 { problems.append("event id \(id) arrived, expected \(expectedID)") }
                    expectedID = id + 1
                    // ids 3 ... N+2 are the text events (after start and model_start).
                    if id >= 3, id < 3 + count {
                        let text = Array("\"text\":\"\(workload.texts.text(at: Int(id - 3)))\"".utf8)
                        if !SSEScanner.contains(event, text), problems.count < 10 { problems.append("event \(id) does not carry the expected text") }
                    }
                }
            }
            if head.status != .ok { problems.append("HTTP \(head.status.code)") }
            if expectedID != count + 5 { problems.append("received events up to id \(expectedID - 1), expected \(count + 4)") }
            if !scanner.done { problems.append("no [DONE]") }
            return problems
        }
    }

    // MARK: 2. Concurrent SSE clients on one core

    private func concurrentClients(into result: inout ScenarioResult, context: ScenarioContext) async throws {
        let intervalMs = max(1, 1000 / config.chunksPerSecond)
        let words = max(1, Int(config.answerSeconds * Double(config.chunksPerSecond)))
        let models = (1...3).map { BenchRegistry.DemoModel(name: "demo\($0)", firstChunkMs: 100, intervalMs: intervalMs, words: words) }
        let registry = try BenchRegistry.write(BenchRegistry.demo(models), name: "sse-clients")
        var details: [JSONValue] = []
        for clients in config.clientLevels {
            // Via RPC, the models run in an unpinned upstream process and the pinned one is the bridge.
            let upstream = config.viaRPC ? try ServerProcess.launch(subcommand: "serve-chorus", arguments: ["--registry", registry]) : nil
            defer { upstream?.stop() }
            let service = upstream.map { ["--upstream", "\($0.port)"] } ?? ["--registry", registry]
            let server = try ServerProcess.launch(subcommand: "serve-chorus", arguments: service + ["--http", "--max-bridge-calls", "\(clients * 2)"], cpu: 0)
            defer { server.stop() }
            let httpPort = server.ports[1]
            let idleRSS = ProcStats.rssBytes(pid: server.pid)
            _ = ProcStats.resetPeakRSS(pid: server.pid)
            let total = Locked(DeliveryTally())
            let clock = ContinuousClock()
            let started = clock.now
            let cpu0 = ProcStats.cpuSeconds(pid: server.pid)
            let rampNanos = Int64(config.rampSeconds * 1e9)
            let body = #"{"query": "sse clients", "models": ["demo1", "demo2", "demo3"]}"#
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<clients {
                    let startAt = started + .nanoseconds(rampNanos * Int64(index) / Int64(clients))
                    group.addTask {
                        try? await Task.sleep(until: startAt)
                        var tally = DeliveryTally()
                        var problem: String?
                        var done = false
                        do {
                            try await HTTPConnection.with(port: httpPort) { connection in
                                var scanner = SSEScanner()
                                let textMarker = Array(#""event_type":"text_generation""#.utf8)
                                let head = try await connection.request(.POST, "/api/analyze/stream/parallel", json: body) { chunk in
                                    let now = unixMicrosNow()
                                    scanner.feed(chunk) { id, event in
                                        guard id != nil, SSEScanner.contains(event, textMarker) else { return }
                                        tally.text(stampedAt: SSEScanner.timestampMicros(of: event), receivedAt: now)
                                    }
                                }
                                if head.status != .ok { problem = "client \(index): HTTP \(head.status.code)" }
                                done = scanner.done
                            }
                        } catch {
                            problem = "client \(index): \(error)"
                        }
                        if problem == nil, !done { problem = "client \(index): no [DONE]" }
                        if problem == nil, tally.textEvents != 3 * words { problem = "client \(index): \(tally.textEvents) text events, expected \(3 * words)" }
                        tally.finish(problem: problem)
                        total.withLock { $0.merge(tally, maxProblems: 10) }
                    }
                }
            }
            let wall = (clock.now - started).secondsDouble
            let cores = ProcStats.cpuSeconds(pid: server.pid).flatMap { after in cpu0.map { (after - $0) / wall } }
            let peak = ProcStats.peakRSSBytes(pid: server.pid)
            let totals = total.value
            let rate = totals.eventsPerSecond
            let offered = Double(clients * 3 * config.chunksPerSecond)
            result.failures += totals.problems.map { "\(clients) SSE clients: \($0)" }
            if !server.isRunning { result.failures.append("\(clients) SSE clients: server exited") }
            context.log("\(name): \(clients) SSE clients on one core: \(totals.completed) complete, \(rate.map(Table.format) ?? "-") events/s of \(Table.format(offered)) offered, delay p50 \(totals.delay.percentile(50).map { String(format: "%.2f", $0 / 1000) } ?? "-") ms p99 \(totals.delay.percentile(99).map { String(format: "%.2f", $0 / 1000) } ?? "-") ms, server \(cores.map { String(format: "%.2f", $0) } ?? "?") cores, peak RSS \((peak ?? 0) / 1_000_000) MB")
            let tag = "\(clients) SSE clients, 1 core"
            result.metrics += [
                Metric("\(tag): events/s delivered", unit: "1/s", better: .higher, chorus: rate, baseline: offered, note: "baseline column: offered rate"),
                Metric("\(tag): delay p50", unit: "ms", better: .lower, chorus: totals.delay.percentile(50).map { $0 / 1000 }, baseline: nil),
                Metric("\(tag): delay p99", unit: "ms", better: .lower, chorus: totals.delay.percentile(99).map { $0 / 1000 }, baseline: nil),
                Metric("\(tag): server CPU", unit: "cores", better: .lower, chorus: cores, baseline: nil),
                Metric("\(tag): server peak RSS", unit: "MB", better: .lower, chorus: peak.map { Double($0) / 1e6 }, baseline: nil),
            ]
            details.append([
                "clients": .int(clients),
                "completed": .int(totals.completed),
                "events_per_second_delivered": .optional(rate),
                "events_per_second_offered": .number(offered),
                "delay": totals.delay.summaryMilliseconds,
                "server_cpu_cores": .optional(cores),
                "idle_rss_bytes": .optional(idleRSS.map(Double.init)),
                "peak_rss_bytes": .optional(peak.map(Double.init)),
            ])
        }
        result.details = ["concurrent_clients": .array(details)]
    }
}
