import ArgumentParser
import BenchKit
import Foundation

@main
struct ChorusBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus-bench",
        abstract: "Benchmarks Chorus against grpc-swift-2, direct upstream calls and sequential calls (see tools/bench/README.md).",
        subcommands: [All.self, Throughput.self, ManyStreams.self, GatewayOverhead.self, FanOut.self, SlowReader.self, SSEBridge.self, ServeChorus.self, ServeGRPC.self, ServeFakeOpenAI.self],
        defaultSubcommand: All.self
    )
}

/// Options every scenario command shares.
struct CommonOptions: ParsableArguments {
    @Flag(help: "Tiny configuration (seconds): correctness only, used by CI.")
    var smoke = false

    @Option(help: "Where to write the JSON report (default: tools/bench/results/latest.json, or smoke.json with --smoke).")
    var json: String?

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    @Option(help: "Give up (exit 1) after this many seconds: a hung stream must not hang CI (default 300 with --smoke, 3600 otherwise).")
    var timeout: Double?

    var context: ScenarioContext { ScenarioContext(smoke: smoke, verbose: !quiet) }

    var jsonPath: String {
        if let json { return json }
        let file = smoke ? "smoke.json" : "latest.json"
        // The executable lives in <bench>/.build/<triple>/<config>/; find <bench> by its gen-grpc.sh.
        var directory = URL(fileURLWithPath: ServerProcess.currentExecutable).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("gen-grpc.sh").path) {
                return directory.appendingPathComponent("results/\(file)").path
            }
            directory.deleteLastPathComponent()
        }
        return "chorus-bench-\(file)"
    }

    func run(_ scenarios: [any Scenario]) async throws {
        startWatchdog(seconds: timeout ?? (smoke ? 300 : 3600))
        let status = await Runner.run(scenarios, context: context, jsonPath: jsonPath)
        if status != 0 { throw ExitCode(status) }
    }
}

/// Exits the process (and so, through their stdin, every server child) when a run takes too long.
private func startWatchdog(seconds: Double) {
    let watchdog = Thread {
        Thread.sleep(forTimeInterval: seconds)
        FileHandle.standardError.write(Data("chorus-bench: FAILED: no result after \(Int(seconds)) s (hung stream?)\n".utf8))
        exit(1)
    }
    watchdog.name = "watchdog"
    watchdog.start()
}

struct All: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every scenario with its default (or --smoke) configuration.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await common.run([
            ThroughputScenario(config: common.smoke ? .smoke : .init()),
            ManyStreamsScenario(config: common.smoke ? .smoke : .init()),
            ManyStreamsScenario(config: common.smoke ? .upstreamSmoke : .upstream),
            GatewayOverheadScenario(config: common.smoke ? .smoke : .init()),
            FanOutScenario(config: common.smoke ? .smoke : .init()),
            SlowReaderScenario(config: common.smoke ? .smoke : .init()),
            SSEBridgeScenario(config: common.smoke ? .smoke : .init()),
        ])
    }
}

struct Throughput: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput",
        abstract: "Benchmark 1: one call streaming N small text events; events/s, MB/s, CPU per side."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Text events per call.") var events: Int?
    @Option(help: "Measured calls per side (median reported).") var runs: Int?
    @Option(help: "Events in each side's warm-up call.") var warmup: Int?
    @Option(help: "Fixed text size in bytes (0: the 16-64 byte mix).") var payloadSize: Int?
    @Option(help: "Run only one side (chorus or grpc), e.g. under a profiler.") var side: Side?

    func run() async throws {
        var config: ThroughputScenario.Config = common.smoke ? .smoke : .init()
        if let events { config.events = events }
        if let runs { config.runs = runs }
        if let warmup { config.warmupEvents = warmup }
        if let payloadSize { config.payloadSize = payloadSize }
        if let side { config.sides = [side] }
        try await common.run([ThroughputScenario(config: config)])
    }
}

struct SlowReader: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slow-reader",
        abstract: "Benchmark 5: a client stops reading mid-stream; server RSS before, during and after."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Text events in the stream.") var events: Int?
    @Option(help: "Seconds the client does not read.") var pause: Double?
    @Option(help: "Text events read before the pause.") var readBeforePause: Int?
    @Option(help: "Run only one side (chorus or grpc).") var side: Side?

    func run() async throws {
        var config: SlowReaderScenario.Config = common.smoke ? .smoke : .init()
        if let events { config.events = events }
        if let pause { config.pauseSeconds = pause }
        if let readBeforePause { config.readBeforePause = readBeforePause }
        if let side { config.sides = [side] }
        try await common.run([SlowReaderScenario(config: config)])
    }
}

extension Side: ExpressibleByArgument {}

struct FanOut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fan-out",
        abstract: "Benchmark 4: three models of 5 s, 3 s and 4 s in one call vs. one after another."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Model latencies in milliseconds, comma-separated.") var latencies: String?
    @Option(help: "Measured runs.") var runs: Int?

    func run() async throws {
        var config: FanOutScenario.Config = common.smoke ? .smoke : .init()
        if let latencies {
            let values = latencies.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { throw ValidationError("--latencies: positive milliseconds, e.g. 5000,3000,4000") }
            config.latenciesMs = values
        }
        if let runs { config.runs = runs }
        try await common.run([FanOutScenario(config: config)])
    }
}

struct ManyStreams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "many-streams",
        abstract: "Benchmark 2: thousands of concurrent calls × 3 demo models at a token rate; delay p50/p99, RSS per call."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Concurrent call levels, comma-separated (e.g. 1000,10000).") var calls: String?
    @Option(help: "Chunks per second per model.") var rate: Int?
    @Option(help: "Seconds each model streams.") var answerSeconds: Double?
    @Option(help: "Seconds over which calls are started.") var ramp: Double?
    @Option(help: "Where the server runs calls: event-loop (default) or global-pool.") var callExecutor: String?
    @Option(help: "How this client reads: wire (default; a channel handler per connection), client (ChorusClient, a task per call iterating its events) or sink (ChorusClient, events pushed into a sink per call).") var reader: String?
    @Option(help: "With --reader client or sink, where the call's task runs: global-pool (default) or event-loop (its connection's loop).") var clientExecutor: String?
    @Option(help: "What answers: demo (default; Chorus's demo models) or openai (three OpenAI-compatible models on a fake upstream, through libcurl; the delay then counts from the upstream's write).") var provider: String?

    func run() async throws {
        var config: ManyStreamsScenario.Config = common.smoke ? .smoke : .init()
        if let callExecutor { config.callExecutor = callExecutor }
        if let reader {
            guard ["wire", "client", "sink"].contains(reader) else {
                throw ValidationError("--reader must be wire, client or sink, not '\(reader)'")
            }
            config.reader = reader
        }
        if let clientExecutor {
            guard ["event-loop", "global-pool"].contains(clientExecutor) else {
                throw ValidationError("--client-executor must be event-loop or global-pool, not '\(clientExecutor)'")
            }
            config.clientExecutor = clientExecutor
        }
        if let calls {
            let levels = try parseCounts(calls, option: "--calls")
            config.levels = levels.map { ManyStreamsScenario.Level(calls: $0, chunksPerSecond: rate ?? 50) }
        } else if let rate {
            config.levels = config.levels.map { ManyStreamsScenario.Level(calls: $0.calls, chunksPerSecond: rate) }
        }
        if let answerSeconds { config.answerSeconds = answerSeconds }
        if let ramp { config.rampSeconds = ramp }
        if let provider {
            guard let parsed = ManyStreamsScenario.Provider(rawValue: provider) else {
                throw ValidationError("--provider must be demo or openai, not '\(provider)'")
            }
            config.provider = parsed
        }
        try await common.run([ManyStreamsScenario(config: config)])
    }
}

struct GatewayOverhead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-overhead",
        abstract: "Benchmark 3: time to first token through Chorus RPC and SSE vs. straight from a fake OpenAI upstream."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Concurrency levels, comma-separated (e.g. 1,100).") var levels: String?
    @Option(help: "Requests per path and level.") var requests: Int?
    @Option(help: "Concurrency levels of the streaming load (1 s answers), comma-separated; 0 for none.") var streamingLevels: String?
    @Option(help: "Think time between one worker's back-to-back calls, in microseconds (default 0).") var pauseUs: Int?
    @Option(help: "Chorus's flush coalescing: most passes a flush waits behind queued jobs (serve-chorus --flush-max-passes; 0 writes at once).") var flushMaxPasses: Int?

    func run() async throws {
        var config: GatewayOverheadScenario.Config = common.smoke ? .smoke : .init()
        if let pauseUs {
            guard pauseUs >= 0 else { throw ValidationError("--pause-us must be 0 or more") }
            config.pauseMicros = pauseUs
        }
        if let flushMaxPasses {
            guard flushMaxPasses >= 0 else { throw ValidationError("--flush-max-passes must be 0 or more") }
            config.flushMaxPasses = flushMaxPasses
        }
        if let levels { config.levels = try parseCounts(levels, option: "--levels") }
        if let requests { config.requests = requests }
        if let streamingLevels {
            config.streamingLevels = streamingLevels == "0" ? [] : try parseCounts(streamingLevels, option: "--streaming-levels")
        }
        try await common.run([GatewayOverheadScenario(config: config)])
    }
}

struct SSEBridge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse-bridge",
        abstract: "Benchmark 6: SSE bridge events/s vs. Chorus RPC, and concurrent SSE clients on one core."
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Text events in the throughput stream.") var events: Int?
    @Option(help: "Concurrent SSE client levels, comma-separated.") var clients: String?
    @Option(help: "Measured throughput runs per path.") var runs: Int?
    @Flag(help: "Through `chorusd bridge --upstream`'s wiring: the bridge in its own process, a ChorusClient of an RPC server that runs the models.") var viaRPC = false

    func run() async throws {
        var config: SSEBridgeScenario.Config = common.smoke ? .smoke : .init()
        if let events { config.events = events }
        if let clients { config.clientLevels = try parseCounts(clients, option: "--clients") }
        if let runs { config.runs = runs }
        if viaRPC { config.viaRPC = true }
        try await common.run([SSEBridgeScenario(config: config)])
    }
}

func parseCounts(_ text: String, option: String) throws -> [Int] {
    let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { throw ValidationError("\(option): positive numbers, comma-separated") }
    return values
}
