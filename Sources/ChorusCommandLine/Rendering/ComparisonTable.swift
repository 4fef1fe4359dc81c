import ChorusCore

/// The table printed after a terminal-mode call, one row per model:
///
/// ```text
/// Model    Provider  Status     TTFT    Duration  Words  Chars  Avg word  Tokens/s
/// ───────  ────────  ─────────  ──────  ────────  ─────  ─────  ────────  ────────
/// gemini   demo      completed  120 ms    1.20 s     42    230      4.52      35.0
/// pegasus  demo      error           -         -      -      -         -         -
///
/// pegasus: UNAVAILABLE: upstream is down (retryable)
/// ```
///
/// Statistics come from each model's `model_end`; a model without one (failed, or still running
/// when the call stopped) shows `-` rather than numbers that were never measured. Errors are
/// listed under the table because messages are too long for a cell.
public enum ComparisonTable {
    /// The cell texts, without styling: what tests check.
    public static func rows(for progress: AnalyzeProgress) -> [[String]] {
        progress.models.map { model in
            let provider = model.provider ?? "-"
            guard let stats = model.stats else {
                return [model.name, provider, model.status.rawValue, "-", "-", "-", "-", "-", "-"]
            }
            return [
                model.name,
                provider,
                model.status.rawValue,
                Formatting.duration(stats.timeToFirstToken),
                Formatting.duration(stats.duration),
                String(stats.words),
                String(stats.characters),
                Formatting.fixed(stats.averageWordLength, decimals: 2),
                Formatting.fixed(stats.tokensPerSecond, decimals: 1),
            ]
        }
    }

    /// The whole table plus one line per failed model, without trailing newlines.
    public static func render(_ progress: AnalyzeProgress, style: TerminalStyle) -> [String] {
        var table = TextTable(columns: [
            .init("Model"), .init("Provider"), .init("Status"),
            .init("TTFT", alignment: .right), .init("Duration", alignment: .right),
            .init("Words", alignment: .right), .init("Chars", alignment: .right),
            .init("Avg word", alignment: .right), .init("Tokens/s", alignment: .right),
        ])
        for (model, cells) in zip(progress.models, rows(for: progress)) {
            var row = cells.map { TextTable.Cell($0) }
            let status = model.status
            row[0].decorate = { style, text in style.bold(text) }
            row[2].decorate = { style, text in style.status(status, text) }
            table.append(row)
        }
        var lines = table.render(style: style)
        let failures = progress.models.compactMap { model in model.error.map { (model.name, $0) } }
        if !failures.isEmpty {
            lines.append("")
            for (name, error) in failures {
                lines.append(style.red("\(name): ") + PlainRenderer.describe(error))
            }
        }
        return lines
    }
}
