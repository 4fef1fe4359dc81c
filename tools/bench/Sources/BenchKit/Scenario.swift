import Foundation

/// One benchmark: runs the Chorus side and its baseline in the same process run and compares them.
///
/// Add a benchmark by writing a type conforming to `Scenario`, a subcommand that builds it from
/// options (and a `.smoke` configuration), and adding it to the `all` command's list.
public protocol Scenario: Sendable {
    /// Stable identifier used in the table, the JSON file and as the subcommand name.
    var name: String { get }
    var title: String { get }
    /// What Chorus is compared with in this scenario (`grpc-swift-2`, `direct upstream`, ...).
    var baseline: String { get }

    func run(_ context: ScenarioContext) async throws -> ScenarioResult
}

/// What every scenario gets from the runner.
public struct ScenarioContext: Sendable {
    /// The tiny configuration used by CI: seconds, correctness checks only.
    public var smoke: Bool
    public var verbose: Bool

    public init(smoke: Bool, verbose: Bool = true) {
        self.smoke = smoke
        self.verbose = verbose
    }

    /// Progress on stderr (stdout carries the table).
    public func log(_ message: String) {
        guard verbose else { return }
        FileHandle.standardError.write(Data("[bench] \(message)\n".utf8))
    }
}

/// Runs scenarios in order, prints the table and writes the JSON report.
public enum Runner {
    /// Returns the process exit status: 0, or 1 when any scenario reported a failure or threw.
    public static func run(_ scenarios: [any Scenario], context: ScenarioContext, jsonPath: String?) async -> Int32 {
        var report = BenchReport(mode: context.smoke ? "smoke" : "full")
        context.log("machine: \(report.machine.cpuModel), \(report.machine.cores) cores, load \(report.machine.loadAverageStart.map { String($0) } ?? "?"); \(report.swiftVersion)")
        // About a second: part of what the machine is, measured before the scenarios load it.
        report.machine.wakeUps = WakeLatency.measure()
        for scenario in scenarios {
            context.log("scenario \(scenario.name): \(scenario.title)")
            do {
                report.scenarios.append(try await scenario.run(context))
            } catch {
                var result = ScenarioResult(name: scenario.name, title: scenario.title, baseline: scenario.baseline, config: [:])
                result.failures.append("scenario threw: \(error)")
                report.scenarios.append(result)
            }
        }
        report.machine.loadAverageEnd = MachineInfo.loadAverage()
        print(Table.render(report))
        print("machine: \(report.machine.cpuModel), \(report.machine.cores) cores; load average \(report.machine.loadAverageStart.map { String($0) } ?? "?") → \(report.machine.loadAverageEnd.map { String($0) } ?? "?"); \(report.swiftVersion)")
        if let wakeUps = report.machine.wakeUps, !wakeUps.isEmpty {
            let figures = wakeUps.map { "\(Int($0.p50Micros.rounded())) / \(Int($0.p90Micros.rounded())) µs after \($0.idleMicros) µs idle" }
            print("thread wake-up round trip across two CPUs, p50 / p90: \(figures.joined(separator: ", "))")
        }
        if let jsonPath {
            do {
                try report.write(to: jsonPath)
                print("wrote \(jsonPath)")
            } catch {
                print("cannot write \(jsonPath): \(error)")
                return 1
            }
        }
        let failures = report.failures
        if !failures.isEmpty {
            print("FAILED:")
            for failure in failures { print("  \(failure)") }
            return 1
        }
        return 0
    }
}
