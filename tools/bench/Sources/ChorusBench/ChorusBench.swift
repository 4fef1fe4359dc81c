import ArgumentParser
import BenchKit
import Foundation

@main
struct ChorusBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus-bench",
        abstract: "Benchmarks Chorus RPC against grpc-swift-2 (see tools/bench/README.md).",
        subcommands: [All.self, Throughput.self, SlowReader.self, ServeChorus.self, ServeGRPC.self],
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
            SlowReaderScenario(config: common.smoke ? .smoke : .init()),
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
