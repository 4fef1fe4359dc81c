import Foundation

/// Which direction of a metric is an improvement.
public enum Better: String, Codable, Sendable {
    case higher
    case lower
}

/// One compared quantity: the Chorus value, the baseline's value, and chorus / baseline.
public struct Metric: Codable, Sendable {
    public var name: String
    public var unit: String
    public var better: Better
    public var chorus: Double?
    public var baseline: Double?
    /// chorus / baseline (nil when either is missing or the baseline is 0).
    public var ratio: Double?
    public var note: String?

    public init(_ name: String, unit: String, better: Better, chorus: Double?, baseline: Double?, note: String? = nil) {
        self.name = name
        self.unit = unit
        self.better = better
        self.chorus = chorus
        self.baseline = baseline
        if let chorus, let baseline, baseline != 0 { ratio = chorus / baseline }
        self.note = note
    }
}

/// A goal stated by the issue, checked and reported, never a failure of the run (benchmarks
/// are not timing assertions).
public struct Target: Codable, Sendable {
    public var description: String
    /// The measured value the goal was judged on, formatted.
    public var actual: String
    public var met: Bool

    public init(description: String, actual: String, met: Bool) {
        self.description = description
        self.actual = actual
        self.met = met
    }

    /// The metric's chorus / baseline ratio must be at least `ratio` (higher-is-better) or at most it.
    public init(metric: Metric, ratio: Double, description: String) {
        self.description = description
        if let actual = metric.ratio {
            self.actual = Table.formatRatio(actual)
            met = metric.better == .higher ? actual >= ratio : actual <= ratio
        } else {
            self.actual = "-"
            met = false
        }
    }
}

/// What one scenario produced: the compared metrics, the raw runs, and any correctness failures.
public struct ScenarioResult: Codable, Sendable {
    public var name: String
    public var title: String
    /// What Chorus is compared with, e.g. `grpc-swift-2`.
    public var baseline: String
    public var config: [String: JSONValue]
    public var metrics: [Metric]
    public var targets: [Target]
    /// Scenario-specific raw data (every run, RSS timelines, ...).
    public var details: JSONValue
    /// Lost, duplicated or out-of-order events, failed calls, crashed servers. Non-empty fails the run.
    public var failures: [String]

    public init(name: String, title: String, baseline: String, config: [String: JSONValue]) {
        self.name = name
        self.title = title
        self.baseline = baseline
        self.config = config
        self.metrics = []
        self.targets = []
        self.details = .object([:])
        self.failures = []
    }

    public func metric(_ name: String) -> Metric? { metrics.first { $0.name == name } }
}

/// The machine a report was measured on.
public struct MachineInfo: Codable, Sendable {
    public var cpuModel: String
    public var cores: Int
    public var memoryBytes: Int?
    public var kernel: String
    /// `/proc/loadavg`'s 1-minute figure when the run started and ended: other work on the machine skews results.
    public var loadAverageStart: Double?
    public var loadAverageEnd: Double?
    /// Thread wake-up round trips across two CPUs after each idle time (see ``WakeLatency``),
    /// measured by the runner before the first scenario.
    public var wakeUps: [WakeLatency]?

    public static func current() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let memory = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
            .flatMap { Int($0) }.map { $0 * 1024 }
        let kernel = ((try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)) ?? "unknown")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return MachineInfo(
            cpuModel: model,
            cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: memory,
            kernel: kernel,
            loadAverageStart: loadAverage(),
            loadAverageEnd: nil,
            wakeUps: nil
        )
    }

    public static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }
}

/// The whole run, as written to the JSON file.
public struct BenchReport: Codable, Sendable {
    public var tool = "chorus-bench"
    public var date: String
    public var mode: String
    public var command: [String]
    public var swiftVersion: String
    public var machine: MachineInfo
    public var scenarios: [ScenarioResult] = []

    public init(mode: String) {
        let formatter = ISO8601DateFormatter()
        date = formatter.string(from: Date())
        self.mode = mode
        command = CommandLine.arguments
        swiftVersion = Self.swiftVersion()
        machine = MachineInfo.current()
    }

    public var failures: [String] {
        scenarios.flatMap { scenario in scenario.failures.map { "\(scenario.name): \($0)" } }
    }

    /// `CHORUS_BENCH_SWIFT_VERSION` (set by run.sh), else the first line of `swift --version`.
    static func swiftVersion() -> String {
        if let version = ProcessInfo.processInfo.environment["CHORUS_BENCH_SWIFT_VERSION"], !version.isEmpty {
            return version
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        guard (try? process.run()) != nil else { return "unknown" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "unknown"
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(self).write(to: url)
    }
}

/// A JSON value, for scenario-specific configuration and raw data.
public enum JSONValue: Codable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }

    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }
    public static func optional(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value.isFinite, value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) }
            else if value.isFinite { try container.encode(value) }
            else { try container.encodeNil() }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// Median of a non-empty sample (mean of the middle two for even counts).
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
