import BenchKit
import ChorusCore
import ChorusRPCClient
import ChorusWire
import NIOCore
import NIOPosix
import Synchronization

/// Benchmark 2: thousands of concurrent Analyze calls, each on three demo models streaming at a
/// realistic token rate (50 chunks/s per model by default).
///
/// Measured: the delay from the provider yielding a chunk (the orchestrator stamps
/// `timestamp_micros` when the provider writes it) to this client receiving the event, p50/p99;
/// the server's RSS (idle, while every call runs, peak) and RSS per call; the event rate delivered
/// while every call runs. Calls start over a ramp so they are all running together for most of
/// their answer; 100 calls share one connection (the server's default limit), like many backends
/// with one connection each. Client and server share the machine's two cores, so the reader is a
/// lean one by default (see ``Config/reader``).
struct ManyStreamsScenario: Scenario {
    struct Level: Sendable {
        var calls: Int
        var chunksPerSecond: Int
    }

    /// What answers the calls (see `Config.provider`).
    enum Provider: String {
        case demo
        case openAI = "openai"
    }

    struct Config: Sendable {
        /// 10,000 calls at 50 chunks/s would offer 1.5 M events/s, far more than two cores shared
        /// by server and client carry through the orchestrator; 10,000 at 5 chunks/s holds the same
        /// concurrency at 150 k events/s (`--calls 10000 --rate 50` runs the other one).
        /// 1,000 calls at 25 chunks/s (75 k events/s) and at 50 chunks/s, the issue's example rate
        /// (150 k events/s: ~1.3 server cores and ~0.3 for the `wire` reader on this 2-core machine).
        var levels = [
            Level(calls: 1_000, chunksPerSecond: 25),
            Level(calls: 1_000, chunksPerSecond: 50),
            Level(calls: 10_000, chunksPerSecond: 5),
        ]
        /// How long each model streams.
        var answerSeconds = 12.0
        /// Calls are started evenly over this many seconds.
        var rampSeconds = 3.0
        var firstChunkMs = 200
        var callsPerConnection = 100
        /// The server's `ChorusRPCServer.CallExecutor` (`event-loop` is chorusd's default).
        var callExecutor = "event-loop"
        /// How this client reads: `wire` (``WireStreamConnection``: a channel handler per
        /// connection decodes and checks every event on the connection's event loop) or `client`
        /// (`ChorusClient.analyze`, one reading task per call). Client and server share the two
        /// cores, so the reader's CPU is taken from the server being measured: at 1,000 calls ×
        /// 50 chunks/s, `client` used 0.57–0.84 cores. `sink` is `ChorusClient.analyze(_:context:sink:)`:
        /// the same client, events pushed into a sink on the connection's read loop, a task per call
        /// that wakes only at the call's end.
        var reader = "wire"
        /// With the `client` and `sink` readers, where each call's task runs: on the global pool
        /// (`global-pool`, a plain `for try await` from any task), or on its connection's event
        /// loop (`event-loop`, what a NIO-based backend can do: `ChorusClient(eventLoopGroup: loop)`
        /// and the reading task preferring `EventLoopTaskExecutor(eventLoop: loop)`).
        var clientExecutor = "global-pool"
        /// What answers: `demo` (the issue's scenario: Chorus's demo models, paced on its event
        /// loops' tickers) or `openai` (three OpenAI-compatible models on one fake upstream,
        /// `serve-fake-openai --answer-chunks --stamp-chunks`, reached through libcurl: the relay a
        /// production deployment runs). With `openai` the delay counts from the fake's write of
        /// each chunk, so it includes the loopback hop, curl and the provider's parsing; the
        /// upstream's CPU is reported next to the server's.
        var provider = Provider.demo
        static let smoke = Config(levels: [Level(calls: 50, chunksPerSecond: 50)], answerSeconds: 1, rampSeconds: 0.2)
        /// The relay through libcurl, in the full suite: 3,000 upstream streams at 5 chunks/s
        /// (15 k chunks/s; the fake upstream takes ~0.55 of the two cores to write them).
        static let upstream = Config(levels: [Level(calls: 1_000, chunksPerSecond: 5)], provider: .openAI)
        static let upstreamSmoke = Config(levels: [Level(calls: 50, chunksPerSecond: 10)], answerSeconds: 1, rampSeconds: 0.2, provider: .openAI)
    }

    var config: Config
    var name: String { config.provider == .openAI ? "many-streams-upstream" : "many-streams" }
    var title: String {
        config.provider == .openAI
            ? "concurrent Analyze calls × 3 OpenAI-compatible models on a fake upstream, through libcurl"
            : "concurrent Analyze calls × 3 demo models at a realistic token rate"
    }
    let baseline = "target"

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var result = ScenarioResult(name: name, title: title, baseline: baseline, config: [
            "levels": .array(config.levels.map { ["calls": .int($0.calls), "chunks_per_second_per_model": .int($0.chunksPerSecond)] }),
            "models_per_call": 3,
            "answer_seconds": .number(config.answerSeconds),
            "ramp_seconds": .number(config.rampSeconds),
            "first_chunk_ms": .int(config.firstChunkMs),
            "calls_per_connection": .int(config.callsPerConnection),
            "call_executor": .string(config.callExecutor),
            "reader": .string(config.reader),
            "client_executor": .string(config.reader == "wire" ? "event-loop (channel handler)" : config.clientExecutor),
            "provider": .string(config.provider.rawValue),
            "delay": config.provider == .openAI
                ? "client receive time − the fake upstream's write time carried in each chunk's text, same host clock"
                : "client receive time − event timestamp_micros (stamped when the provider yields the chunk), same host clock",
        ])
        var levelDetails: [JSONValue] = []
        for level in config.levels {
            let measured = try await measure(level, context: context)
            result.failures += measured.failures
            levelDetails.append(measured.json)
            let tag = "\(level.calls) calls @\(level.chunksPerSecond)/s" + (config.provider == .openAI ? " via curl" : "")
            result.metrics += [
                Metric("\(tag): delay p50", unit: "ms", better: .lower, chorus: measured.delay.percentile(50).map { $0 / 1000 }, baseline: nil),
                Metric("\(tag): delay p99", unit: "ms", better: .lower, chorus: measured.delay.percentile(99).map { $0 / 1000 }, baseline: nil),
                Metric("\(tag): delay max", unit: "ms", better: .lower, chorus: measured.delay.count > 0 ? Double(measured.delay.maximum) / 1000 : nil, baseline: nil),
                Metric("\(tag): events/s delivered, all running", unit: "1/s", better: .higher, chorus: measured.steadyEventsPerSecond, baseline: measured.offeredEventsPerSecond,
                       note: "received while every call was running; baseline column: the offered rate"),
                Metric("\(tag): server RSS, all running", unit: "MB", better: .lower, chorus: measured.steadyRSS.map { Double($0) / 1e6 }, baseline: nil),
                Metric("\(tag): server peak RSS", unit: "MB", better: .lower, chorus: measured.peakRSS.map { Double($0) / 1e6 }, baseline: nil),
                Metric("\(tag): RSS per call", unit: "KB", better: .lower, chorus: measured.rssPerCall.map { $0 / 1e3 }, baseline: nil),
                Metric("\(tag): server CPU", unit: "cores", better: .lower, chorus: measured.serverCores, baseline: nil),
                Metric("\(tag): client CPU", unit: "cores", better: .lower, chorus: measured.clientCores, baseline: nil,
                       note: "this benchmark process, which reads every event on the same two cores"),
            ]
            if let upstreamCores = measured.upstreamCores {
                result.metrics.append(Metric("\(tag): fake upstream CPU", unit: "cores", better: .lower, chorus: upstreamCores, baseline: nil,
                                             note: "serve-fake-openai, on the same two cores"))
            }
            // The targets are the issue's scenario: demo models.
            if level.calls >= 10_000, config.provider == .demo {
                result.targets.append(Target(
                    description: "\(level.calls) concurrent calls (\(level.chunksPerSecond) chunks/s per model) under 1 GiB server RSS",
                    actual: measured.peakRSS.map { String(format: "%.0f MB peak", Double($0) / 1e6) } ?? "-",
                    met: measured.peakRSS.map { $0 < 1 << 30 } ?? false
                ))
            }
            if level.calls == 1_000, config.provider == .demo {
                result.targets.append(Target(
                    description: "p99 added delay under 5 ms at 1,000 calls (\(level.chunksPerSecond) chunks/s per model)",
                    actual: measured.delay.percentile(99).map { String(format: "%.2f ms", $0 / 1000) } ?? "-",
                    met: measured.delay.percentile(99).map { $0 < 5_000 } ?? false
                ))
            }
        }
        result.details = ["levels": .array(levelDetails)]
        return result
    }

    struct Measured {
        var level: Level
        var delay = LatencyHistogram()
        var idleRSS: Int?
        var steadyRSS: Int?
        var peakRSS: Int?
        var eventsPerSecond: Double?
        /// Received while every call was running (see `measure`), nil when the answers are too
        /// short for such a window.
        var steadyEventsPerSecond: Double?
        var offeredEventsPerSecond: Double
        var serverCores: Double?
        var clientCores: Double?
        var upstreamCores: Double?
        var completedCalls = 0
        var failures: [String] = []
        var samples: [RSSSampler.Sample] = []

        var rssPerCall: Double? {
            guard let idleRSS, let steadyRSS else { return nil }
            return Double(steadyRSS - idleRSS) / Double(level.calls)
        }

        var json: JSONValue {
            [
                "calls": .int(level.calls),
                "chunks_per_second_per_model": .int(level.chunksPerSecond),
                "completed_calls": .int(completedCalls),
                "delay": delay.summaryMilliseconds,
                "events_per_second_delivered": .optional(eventsPerSecond),
                "events_per_second_delivered_all_running": .optional(steadyEventsPerSecond),
                "events_per_second_offered": .number(offeredEventsPerSecond),
                "server_cpu_cores": .optional(serverCores),
                "client_cpu_cores": .optional(clientCores),
                "upstream_cpu_cores": .optional(upstreamCores),
                "idle_rss_bytes": .optional(idleRSS.map(Double.init)),
                "steady_rss_bytes": .optional(steadyRSS.map(Double.init)),
                "peak_rss_bytes": .optional(peakRSS.map(Double.init)),
                "rss_per_call_bytes": .optional(rssPerCall),
                "rss_samples": .array(samples.map { ["t": .number(($0.t * 1000).rounded() / 1000), "rss_bytes": .int($0.rssBytes), "phase": .string($0.phase)] }),
            ]
        }
    }

    private func measure(_ level: Level, context: ScenarioContext) async throws -> Measured {
        let intervalMs = max(1, 1000 / level.chunksPerSecond)
        let words = max(1, Int(config.answerSeconds * Double(level.chunksPerSecond)))
        let names = (1...3).map { "model\($0)" }
        // The fake upstream writes its first content chunk at once and `words - 1` more, one per interval.
        let upstream = config.provider == .openAI
            ? try ServerProcess.launch(subcommand: "serve-fake-openai", arguments: [
                "--answer-chunks", "\(words - 1)", "--chunk-interval-ms", "\(intervalMs)", "--stamp-chunks",
            ])
            : nil
        defer { upstream?.stop() }
        let registry = try BenchRegistry.write(
            upstream.map { upstream in BenchRegistry.fakeOpenAI(names.map { ($0, upstream.port) }) }
                ?? BenchRegistry.demo(names.map { BenchRegistry.DemoModel(name: $0, firstChunkMs: config.firstChunkMs, intervalMs: intervalMs, words: words) }),
            name: "many-streams")
        let server = try ServerProcess.launch(subcommand: "serve-chorus", arguments: ["--registry", registry, "--max-calls-per-connection", "\(config.callsPerConnection)", "--call-executor", config.callExecutor])
        defer { server.stop() }
        let connections = (level.calls + config.callsPerConnection - 1) / config.callsPerConnection
        let loops = (0..<connections).map { _ in MultiThreadedEventLoopGroup.singleton.next() }
        let reader: any ManyStreamsReader = config.reader == "wire"
            ? try await WireReader.open(port: server.port, loops: loops, expectedTexts: 3 * words)
            : try await ClientReader.open(port: server.port, loops: loops, onLoops: config.clientExecutor == "event-loop", pushed: config.reader == "sink", expectedTexts: 3 * words)
        defer { reader.close() }

        var measured = Measured(level: level, offeredEventsPerSecond: Double(level.calls * 3 * level.chunksPerSecond))
        _ = ProcStats.resetPeakRSS(pid: server.pid)
        measured.idleRSS = ProcStats.rssBytes(pid: server.pid)
        let sampler = RSSSampler(pid: server.pid, interval: 0.1)
        sampler.mark("ramp")
        sampler.start()
        context.log("\(name): \(level.calls) calls × 3 models at \(level.chunksPerSecond) chunks/s for \(config.answerSeconds) s over \(connections) connections (\(config.reader) reader, \(config.provider.rawValue) models)")

        let clock = ContinuousClock()
        let started = clock.now
        let cpu0 = ProcStats.cpuSeconds(pid: server.pid)
        let upstreamCPU0 = upstream.flatMap { ProcStats.cpuSeconds(pid: $0.pid) }
        let clientCPU0 = ProcStats.cpuSeconds(pid: getpid())
        let rampNanos = Int64(config.rampSeconds * 1e9)
        let allRunningAt = started + .nanoseconds(rampNanos) + .milliseconds(config.firstChunkMs + 500)
        let steadyProbe = Task {
            try? await Task.sleep(until: allRunningAt)
            sampler.mark("all running")
            return ProcStats.rssBytes(pid: server.pid)
        }
        let calls = (0..<level.calls).map { index in
            ManyStreamsCall(index: index, query: "many streams call \(index)", models: names,
                            after: .nanoseconds(rampNanos * Int64(index) / Int64(max(level.calls, 1))))
        }
        // While every call runs (the last one started and answering, the first not yet done), the
        // offered rate is the nominal calls × 3 × chunks/s; the whole run's average is lower (ramp).
        let startedUnix = unixMicrosNow()
        let windowStart = startedUnix + rampNanos / 1000 + Int64(config.firstChunkMs + 500) * 1000
        let windowEnd = startedUnix + Int64(config.firstChunkMs) * 1000 + Int64((config.answerSeconds - 0.5) * 1e6)
        let totals = await reader.run(calls, window: windowEnd > windowStart ? windowStart..<windowEnd : nil)
        let wall = (clock.now - started).secondsDouble
        let cpu1 = ProcStats.cpuSeconds(pid: server.pid)
        if let clientCPU0, let clientCPU1 = ProcStats.cpuSeconds(pid: getpid()) { measured.clientCores = (clientCPU1 - clientCPU0) / wall }
        measured.steadyRSS = await steadyProbe.value
        sampler.mark("done")
        measured.samples = sampler.stop()
        measured.peakRSS = ProcStats.peakRSSBytes(pid: server.pid)
        if let cpu0, let cpu1 { measured.serverCores = (cpu1 - cpu0) / wall }
        if let upstream, let upstreamCPU0, let upstreamCPU1 = ProcStats.cpuSeconds(pid: upstream.pid) {
            measured.upstreamCores = (upstreamCPU1 - upstreamCPU0) / wall
        }
        if let upstream, !upstream.isRunning { measured.failures.append("\(level.calls) calls: fake upstream exited") }
        measured.delay = totals.delay
        measured.completedCalls = totals.completed
        measured.eventsPerSecond = totals.eventsPerSecond
        measured.steadyEventsPerSecond = totals.windowEventsPerSecond
        measured.failures = totals.problems.map { "\(level.calls) calls: \($0)" }
        if !server.isRunning { measured.failures.append("\(level.calls) calls: chorus server exited") }
        context.log("\(name): \(level.calls) calls: \(totals.completed) completed in \(String(format: "%.1f", wall)) s; delay p50 \(measured.delay.percentile(50).map { String(format: "%.2f", $0 / 1000) } ?? "-") ms, p99 \(measured.delay.percentile(99).map { String(format: "%.2f", $0 / 1000) } ?? "-") ms; RSS idle \((measured.idleRSS ?? 0) / 1_000_000) MB, all running \((measured.steadyRSS ?? 0) / 1_000_000) MB, peak \((measured.peakRSS ?? 0) / 1_000_000) MB")
        return measured
    }
}
