import BenchKit

/// Benchmark 1: one call streaming N small text events as fast as the server produces them.
///
/// Both servers run in their own processes; the clients run here. Each side gets a warm-up call,
/// then `runs` measured calls, alternating which side goes first; the table shows medians.
struct ThroughputScenario: Scenario {
    struct Config: Sendable {
        var events = 1_000_000
        var runs = 3
        var warmupEvents = 100_000
        /// 0: the 16–64 byte mix; otherwise a fixed text size.
        var payloadSize = 0
        /// Which implementations to run (both by default; one alone is for profiling).
        var sides = Side.allCases

        static let smoke = Config(events: 20_000, runs: 1, warmupEvents: 2_000)
    }

    var config: Config
    let name = "throughput"
    let title = "one call streaming N small text events as fast as possible"
    let baseline = Side.grpc.displayName

    /// One measured call.
    struct Run: Sendable {
        var side: Side
        var wallSeconds: Double
        var textEvents: Int
        var payloadBytes: Int
        var serverCPUSeconds: Double?
        var clientCPUSeconds: Double
        var serverPeakRSSBytes: Int?
        /// write-type syscalls of the server and read-type syscalls of the client during the call.
        var serverWriteSyscalls: Int?
        var serverBytesWritten: Int?
        var clientReadSyscalls: Int?
        var problems: [String]

        var eventsPerSecond: Double { Double(textEvents) / wallSeconds }
        var megabytesPerSecond: Double { Double(payloadBytes) / wallSeconds / 1e6 }

        var json: JSONValue {
            [
                "side": .string(side.rawValue),
                "wall_seconds": .number(wallSeconds),
                "text_events": .int(textEvents),
                "payload_bytes": .int(payloadBytes),
                "events_per_second": .number(eventsPerSecond),
                "payload_mb_per_second": .number(megabytesPerSecond),
                "server_cpu_seconds": .optional(serverCPUSeconds),
                "client_cpu_seconds": .number(clientCPUSeconds),
                "server_peak_rss_bytes": .optional(serverPeakRSSBytes.map(Double.init)),
                "server_write_syscalls": .optional(serverWriteSyscalls.map(Double.init)),
                "server_bytes_written": .optional(serverBytesWritten.map(Double.init)),
                "client_read_syscalls": .optional(clientReadSyscalls.map(Double.init)),
                "problems": .array(problems.map { .string($0) }),
            ]
        }
    }

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var result = ScenarioResult(name: name, title: title, baseline: baseline, config: [
            "events": .int(config.events),
            "runs": .int(config.runs),
            "warmup_events": .int(config.warmupEvents),
            "payload": .string(config.payloadSize == 0 ? "\(TextWorkload.minLength)-\(TextWorkload.maxLength) bytes, deterministic mix" : "\(config.payloadSize) bytes"),
            "sides": .array(config.sides.map { .string($0.rawValue) }),
            "placement": "server in its own process, client in the bench process, 127.0.0.1, no CPU pinning",
        ])
        var endpoints: [Side: Endpoint] = [:]
        defer { for endpoint in endpoints.values { endpoint.server.stop() } }
        for side in config.sides { endpoints[side] = try Endpoint.start(side) }

        let workload = StreamWorkload(count: config.events, payloadSize: config.payloadSize)
        for side in config.sides where config.warmupEvents > 0 {
            context.log("\(name): warm-up \(side.rawValue) (\(config.warmupEvents) events)")
            let outcome = try await endpoints[side]!.client.stream(StreamPlan(workload: StreamWorkload(count: config.warmupEvents, payloadSize: config.payloadSize)))
            result.failures += outcome.problems.map { "\(side.rawValue) warm-up: \($0)" }
        }

        var runs: [Run] = []
        for index in 0..<config.runs {
            let order = index % 2 == 0 ? config.sides : config.sides.reversed()
            for side in order {
                let run = try await measure(endpoints[side]!, workload: workload)
                context.log("\(name): run \(index + 1)/\(config.runs) \(side.rawValue): \(Table.format(run.eventsPerSecond)) events/s, \(String(format: "%.2f", run.wallSeconds)) s, server CPU \(run.serverCPUSeconds.map { String(format: "%.2f", $0) } ?? "?") s, client CPU \(String(format: "%.2f", run.clientCPUSeconds)) s")
                result.failures += run.problems.map { "\(side.rawValue) run \(index + 1): \($0)" }
                runs.append(run)
            }
        }
        for endpoint in endpoints.values {
            if !endpoint.server.isRunning { result.failures.append("\(endpoint.side.rawValue) server exited during the scenario") }
            await endpoint.stop()
        }
        endpoints = [:]

        func med(_ side: Side, _ value: (Run) -> Double?) -> Double? {
            median(runs.filter { $0.side == side }.compactMap(value))
        }
        func metric(_ name: String, unit: String, better: Better, _ value: @escaping (Run) -> Double?) -> Metric {
            Metric(name, unit: unit, better: better, chorus: med(.chorus, value), baseline: med(.grpc, value))
        }
        let eventsPerSecond = metric("events/s", unit: "1/s", better: .higher) { $0.eventsPerSecond }
        result.metrics = [
            eventsPerSecond,
            metric("payload MB/s", unit: "MB/s", better: .higher) { $0.megabytesPerSecond },
            metric("wall time", unit: "s", better: .lower) { $0.wallSeconds },
            metric("server CPU", unit: "s", better: .lower) { $0.serverCPUSeconds },
            metric("client CPU", unit: "s", better: .lower) { $0.clientCPUSeconds },
            metric("server CPU/event", unit: "µs", better: .lower) { run in run.serverCPUSeconds.map { $0 * 1e6 / Double(run.textEvents) } },
            metric("client CPU/event", unit: "µs", better: .lower) { $0.clientCPUSeconds * 1e6 / Double($0.textEvents) },
            metric("server peak RSS", unit: "MB", better: .lower) { $0.serverPeakRSSBytes.map { Double($0) / 1e6 } },
            metric("server wire bytes/event", unit: "B", better: .lower) { run in run.serverBytesWritten.map { Double($0) / Double(run.textEvents) } },
            metric("events per server write()", unit: "1", better: .higher) { run in run.serverWriteSyscalls.map { Double(run.textEvents) / Double(max($0, 1)) } },
            metric("events per client read()", unit: "1", better: .higher) { run in run.clientReadSyscalls.map { Double(run.textEvents) / Double(max($0, 1)) } },
        ]
        if config.sides.count == Side.allCases.count { result.targets = [Target(metric: eventsPerSecond, ratio: 5, description: "Chorus events/s ≥ 5× grpc-swift-2")] }
        result.details = ["runs": .array(runs.map(\.json))]
        return result
    }

    private func measure(_ endpoint: Endpoint, workload: StreamWorkload) async throws -> Run {
        let pid = endpoint.server.pid
        let peakResettable = ProcStats.resetPeakRSS(pid: pid)
        let serverCPU0 = ProcStats.cpuSeconds(pid: pid)
        let serverIO0 = ProcStats.io(pid: pid)
        let clientIO0 = ProcStats.io(pid: nil)
        let clientCPU0 = ProcStats.selfCPUSeconds()
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = try await endpoint.client.stream(StreamPlan(workload: workload))
        let wall = (clock.now - started).secondsDouble
        let clientCPU1 = ProcStats.selfCPUSeconds()
        let serverCPU1 = ProcStats.cpuSeconds(pid: pid)
        let serverIO1 = ProcStats.io(pid: pid)
        let clientIO1 = ProcStats.io(pid: nil)
        let serverCPU = serverCPU0.flatMap { before in serverCPU1.map { $0 - before } }
        return Run(
            side: endpoint.side,
            wallSeconds: wall,
            textEvents: outcome.textEvents,
            payloadBytes: outcome.payloadBytes,
            serverCPUSeconds: serverCPU,
            clientCPUSeconds: clientCPU1 - clientCPU0,
            serverPeakRSSBytes: peakResettable ? ProcStats.peakRSSBytes(pid: pid) : nil,
            serverWriteSyscalls: serverIO0.flatMap { before in serverIO1.map { $0.writeSyscalls - before.writeSyscalls } },
            serverBytesWritten: serverIO0.flatMap { before in serverIO1.map { $0.writtenBytes - before.writtenBytes } },
            clientReadSyscalls: clientIO0.flatMap { before in clientIO1.map { $0.readSyscalls - before.readSyscalls } },
            problems: outcome.problems
        )
    }
}
