import Foundation

/// Renders results as a plain-text table: scenario, metric, chorus, baseline, ratio.
public enum Table {
    public static func render(_ report: BenchReport) -> String {
        let baselines = Set(report.scenarios.map(\.baseline))
        let baselineHeader = baselines.count == 1 ? baselines.first! : "baseline"
        var rows: [[String]] = [["scenario", "metric", "chorus", baselineHeader, "ratio"]]
        for scenario in report.scenarios {
            for (index, metric) in scenario.metrics.enumerated() {
                rows.append([
                    index == 0 ? scenario.name : "",
                    "\(metric.name) [\(metric.unit)]\(metric.better == .lower ? " ↓" : " ↑")",
                    format(metric.chorus),
                    format(metric.baseline),
                    metric.ratio.map { formatRatio($0) } ?? "-",
                ])
            }
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column < 2 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(cells.joined(separator: "  "))
            if index == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        lines.append("↑ higher is better, ↓ lower is better; ratio = chorus / \(baselineHeader)")
        for scenario in report.scenarios {
            for target in scenario.targets {
                lines.append("target \(scenario.name): \(target.description): \(target.actual) → \(target.met ? "met" : "NOT met")")
            }
        }
        return lines.joined(separator: "\n")
    }

    public static func format(_ value: Double?) -> String {
        guard let value else { return "-" }
        let magnitude = abs(value)
        if magnitude >= 1_000_000 { return String(format: "%.2fM", value / 1_000_000) }
        if magnitude >= 10_000 { return String(format: "%.1fk", value / 1_000) }
        if magnitude >= 100 { return String(format: "%.0f", value) }
        if magnitude >= 1 { return String(format: "%.2f", value) }
        if magnitude == 0 { return "0" }
        return String(format: "%.3f", value)
    }

    public static func formatRatio(_ ratio: Double) -> String {
        ratio >= 100 ? String(format: "%.0f×", ratio) : ratio >= 10 ? String(format: "%.1f×", ratio) : String(format: "%.2f×", ratio)
    }
}
