import BenchKit
import ChorusCore
import ChorusRPCClient

/// Benchmark 4: one call on three models whose answers take 5 s, 3 s and 4 s.
///
/// The orchestrator runs them at once, so the call should take as long as the slowest model
/// (target: within 5 ms of 5 s). The baseline is the same three answers asked one after another
/// (what a client calling the models sequentially waits: ~12 s), measured in the same run. Each
/// demo model sleeps for its latency and then writes its answer (chunk interval 0), so the
/// models' own timer drift does not blur the orchestrator's overhead.
struct FanOutScenario: Scenario {
    struct Config: Sendable {
        /// Latency of each model, milliseconds.
        var latenciesMs = [5_000, 3_000, 4_000]
        var runs = 3
        static let smoke = Config(latenciesMs: [300, 100, 200], runs: 1)
    }

    var config: Config
    let name = "fan-out"
    let title = "3 models of 5 s, 3 s and 4 s in one call vs. asked one after another"
    let baseline = "sequential"

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var result = ScenarioResult(name: name, title: title, baseline: baseline, config: [
            "latencies_ms": .array(config.latenciesMs.map { .int($0) }),
            "runs": .int(config.runs),
            "models": "demo providers through the orchestrator and Chorus RPC (serve-chorus --registry)",
        ])
        let models = config.latenciesMs.enumerated().map { index, ms in
            BenchRegistry.DemoModel(name: "m\(index + 1)-\(ms)ms", firstChunkMs: ms, intervalMs: 0, words: 12)
        }
        let registry = try BenchRegistry.write(BenchRegistry.demo(models), name: "fan-out")
        let server = try ServerProcess.launch(subcommand: "serve-chorus", arguments: ["--registry", registry])
        defer { server.stop() }
        let client = ChorusClient(host: "127.0.0.1", port: server.port)
        defer { client.close() }
        let names = models.map(\.name)
        let slowest = Double(config.latenciesMs.max() ?? 0) / 1000

        // Warm-up: connection, first-call paths.
        _ = try await Self.call(client, models: [names[0]], query: "warm up")

        var parallel: [Double] = []
        var sequential: [Double] = []
        var runs: [JSONValue] = []
        for index in 0..<config.runs {
            let together = try await Self.call(client, models: names, query: "fan-out run \(index)")
            result.failures += together.problems(expecting: names).map { "fan-out run \(index + 1): \($0)" }
            var oneByOne: [Double] = []
            for model in names {
                let alone = try await Self.call(client, models: [model], query: "fan-out run \(index)")
                result.failures += alone.problems(expecting: [model]).map { "sequential \(model) run \(index + 1): \($0)" }
                oneByOne.append(alone.wallSeconds)
            }
            let sum = oneByOne.reduce(0, +)
            context.log("\(name): run \(index + 1)/\(config.runs): together \(String(format: "%.4f", together.wallSeconds)) s, one after another \(String(format: "%.4f", sum)) s (\(oneByOne.map { String(format: "%.4f", $0) }.joined(separator: " + ")))")
            parallel.append(together.wallSeconds)
            sequential.append(sum)
            runs.append([
                "parallel_seconds": .number(together.wallSeconds),
                "sequential_seconds": .number(sum),
                "sequential_parts_seconds": .array(oneByOne.map { .number($0) }),
            ])
        }
        if !server.isRunning { result.failures.append("chorus server exited during the scenario") }

        let wall = Metric("wall time", unit: "s", better: .lower, chorus: median(parallel), baseline: median(sequential))
        let overhead = parallel.map { ($0 - slowest) * 1000 }
        let worst = overhead.max()
        result.metrics = [
            wall,
            Metric("over the slowest model (median)", unit: "ms", better: .lower, chorus: median(overhead), baseline: nil),
            Metric("over the slowest model (worst run)", unit: "ms", better: .lower, chorus: worst, baseline: nil),
        ]
        result.targets = [Target(
            description: "wall time within 5 ms of the slowest model (\(slowest) s) in every run",
            actual: worst.map { String(format: "+%.2f ms", $0) } ?? "-",
            met: worst.map { $0 <= 5 && $0 >= 0 } ?? false
        )]
        result.details = ["runs": .array(runs)]
        return result
    }

    /// One Analyze call: wall time to the end of the stream, per-model text and errors.
    struct CallOutcome {
        var wallSeconds: Double
        var textChunks: [String: Int] = [:]
        var errors: [String] = []
        var completed = false

        func problems(expecting models: [String]) -> [String] {
            var problems = errors
            if !completed { problems.append("no complete event") }
            for model in models where (textChunks[model] ?? 0) == 0 { problems.append("\(model) produced no text") }
            return problems
        }
    }

    static func call(_ client: ChorusClient, models: [String], query: String) async throws -> CallOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        var outcome = CallOutcome(wallSeconds: 0)
        for try await event in client.analyze(AnalyzeRequest(query: query, models: models)) {
            switch event.payload {
            case .textGeneration(let chunk): outcome.textChunks[chunk.model, default: 0] += 1
            case .error(let error): outcome.errors.append("\(error.model): \(error.code) \(error.message)")
            case .complete: outcome.completed = true
            default: break
            }
        }
        outcome.wallSeconds = (clock.now - started).secondsDouble
        return outcome
    }
}
