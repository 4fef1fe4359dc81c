import ChorusCore

/// Lays out the side-by-side view of a call as lines of text, one column per model:
///
/// ```text
/// gemini · demo               │ pegasus · demo
/// ● active · 12 words         │ ○ waiting
/// ────────────────────────────┼────────────────────────────
/// The video shows a red car   │
/// driving along a coastal     │
/// road.                       │
///
/// 0/2 models done · 1 streaming · 3.4s elapsed
/// ```
///
/// A pure function of its inputs, so layout is tested without a terminal. Every line fits in
/// `width - 1` cells: a line that filled the last cell would make some terminals wrap, and the
/// renderer's cursor arithmetic relies on one text line being one screen line.
struct TerminalFrame {
    /// One model's column body: its wrapped text, followed by wrapped error lines shown in red.
    struct Body: Sendable {
        var lines: [String]
        var errorLineCount: Int
    }

    static let headerLineCount = 3
    /// A blank line and the progress line.
    static let footerLineCount = 2

    /// The separator and column width for `count` columns in `width` cells. Narrow terminals get
    /// a one-cell separator before columns get unreadably thin.
    static func columnLayout(width: Int, count: Int) -> (separatorWidth: Int, columnWidth: Int) {
        let count = max(1, count)
        let usable = max(1, width - 1)
        let wide = (usable - 3 * (count - 1)) / count
        if wide >= 12 || count == 1 { return (3, max(1, wide)) }
        return (1, max(1, (usable - (count - 1)) / count))
    }

    static func lines(
        progress: AnalyzeProgress,
        bodies: [Body],
        width: Int,
        bodyLimit: Int?,
        footer: String,
        style: TerminalStyle
    ) -> [String] {
        let (separatorWidth, columnWidth) = columnLayout(width: width, count: progress.models.count)
        let separator = style.dim(separatorWidth == 3 ? " │ " : "│")
        let rule = style.dim(separatorWidth == 3 ? "─┼─" : "┼")
        var lines: [String] = []

        if !progress.models.isEmpty {
            lines.append(
                progress.models.map { model in
                    let title = model.provider.map { "\(model.name) · \($0)" } ?? model.name
                    return style.bold(TextLayout.pad(title, to: columnWidth))
                }.joined(separator: separator)
            )
            lines.append(
                progress.models.map { model in
                    style.status(model.status, TextLayout.pad(statusText(model), to: columnWidth))
                }.joined(separator: separator)
            )
            lines.append(
                Array(repeating: style.dim(String(repeating: "─", count: columnWidth)), count: progress.models.count)
                    .joined(separator: rule)
            )

            // Live frames show the newest lines of each column so the frame fits on screen.
            let visible: [Body] = bodies.map { body in
                guard let bodyLimit, body.lines.count > bodyLimit else { return body }
                return Body(
                    lines: Array(body.lines.suffix(bodyLimit)), errorLineCount: min(body.errorLineCount, bodyLimit))
            }
            let rowCount = visible.map(\.lines.count).max() ?? 0
            for row in 0..<rowCount {
                let cells = visible.map { body -> String in
                    guard row < body.lines.count else { return String(repeating: " ", count: columnWidth) }
                    let cell = TextLayout.pad(body.lines[row], to: columnWidth)
                    return row >= body.lines.count - body.errorLineCount ? style.red(cell) : cell
                }
                lines.append(trimmingTrailingBlankCell(cells.joined(separator: separator)))
            }
        }
        lines.append("")
        let cleanFooter = TextLayout.sanitize(footer, tabReplacement: " ").replacing("\n", with: " ")
        lines.append(style.dim(TextLayout.truncate(cleanFooter, width: max(1, width - 1))))
        return lines
    }

    /// `○ waiting`, `● active · 12 words`, `✓ completed · 1.20 s`, `✗ error · UNAVAILABLE`.
    static func statusText(_ model: AnalyzeProgress.Model) -> String {
        switch model.status {
        case .waiting:
            return "○ waiting"
        case .active:
            let words = model.textStats.words
            return "● active · \(words) \(words == 1 ? "word" : "words")"
        case .completed:
            return "✓ completed" + (model.stats.map { " · \(Formatting.duration($0.duration))" } ?? "")
        case .error:
            return "✗ error" + (model.error.map { " · \($0.code.name)" } ?? "")
        }
    }

    /// Wraps a model's text and error for a column.
    static func body(for model: AnalyzeProgress.Model, wrappedText: [String], columnWidth: Int) -> Body {
        var lines = model.text.isEmpty ? [] : wrappedText
        var errorLineCount = 0
        if let error = model.error {
            let errorLines = TextLayout.wrap("✗ " + PlainRenderer.describe(error), width: columnWidth)
            lines += errorLines
            errorLineCount = errorLines.count
        }
        return Body(lines: lines, errorLineCount: errorLineCount)
    }

    private static func trimmingTrailingBlankCell(_ line: String) -> String {
        var line = Substring(line)
        while line.last == " " { line = line.dropLast() }
        return String(line)
    }
}
