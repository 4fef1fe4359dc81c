/// A plain text table with aligned columns, used for the comparison table and `chorus models`.
///
/// ```swift
/// var table = TextTable(columns: [.init("Model"), .init("Words", alignment: .right)])
/// table.append(["gemini", "42"])
/// print(table.render(style: TerminalStyle(colors: false)).joined(separator: "\n"))
/// // Model   Words
/// // ──────  ─────
/// // gemini     42
/// ```
public struct TextTable: Sendable {
    /// How a column's cells are aligned.
    public enum Alignment: Sendable {
        case left
        case right
    }

    /// A column's title and alignment.
    public struct Column: Sendable {
        public var title: String
        public var alignment: Alignment

        public init(_ title: String, alignment: Alignment = .left) {
            self.title = title
            self.alignment = alignment
        }
    }

    /// One cell: its text, and an optional styling applied after padding so colours never
    /// disturb alignment.
    public struct Cell: Sendable, ExpressibleByStringLiteral {
        public var text: String
        public var decorate: (@Sendable (TerminalStyle, String) -> String)?

        public init(_ text: String, decorate: (@Sendable (TerminalStyle, String) -> String)? = nil) {
            self.text = text
            self.decorate = decorate
        }

        public init(stringLiteral value: String) {
            self.init(value)
        }
    }

    /// The columns, left to right.
    public var columns: [Column]
    /// The rows appended so far.
    public private(set) var rows: [[Cell]] = []
    /// Spaces between columns.
    public var gap = 2

    /// An empty table with these columns.
    public init(columns: [Column]) {
        self.columns = columns
    }

    /// Adds a row; missing trailing cells are blank.
    public mutating func append(_ row: [Cell]) {
        rows.append(row)
    }

    /// Adds a row of unstyled cells.
    public mutating func append(_ row: [String]) {
        rows.append(row.map { Cell($0) })
    }

    /// The table as lines without trailing newlines: header, rule, rows.
    ///
    /// - Parameter maxWidth: when set, the last column is narrowed (its cells truncated with `…`)
    ///   so that no line is wider, e.g. a long description on a narrow terminal.
    public func render(style: TerminalStyle, maxWidth: Int? = nil) -> [String] {
        var widths = columns.map { TextLayout.displayWidth($0.title) }
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], TextLayout.displayWidth(cell.text))
            }
        }
        if let maxWidth, let last = widths.indices.last {
            let others = widths.dropLast().reduce(0, +) + gap * (widths.count - 1)
            widths[last] = max(1, min(widths[last], maxWidth - others))
        }
        let separator = String(repeating: " ", count: gap)
        func line(_ cells: [Cell], header: Bool) -> String {
            var parts: [String] = []
            for (index, column) in columns.enumerated() {
                let cell = index < cells.count ? cells[index] : Cell("")
                var text = TextLayout.pad(cell.text, to: widths[index], alignRight: column.alignment == .right)
                if header {
                    text = style.bold(text)
                } else if let decorate = cell.decorate {
                    text = decorate(style, text)
                }
                parts.append(text)
            }
            return trimmedTrailingSpaces(parts.joined(separator: separator))
        }
        var lines = [line(columns.map { Cell($0.title) }, header: true)]
        lines.append(style.dim(widths.map { String(repeating: "─", count: $0) }.joined(separator: separator)))
        for row in rows {
            lines.append(line(row, header: false))
        }
        return lines
    }

    private func trimmedTrailingSpaces(_ text: String) -> String {
        var text = Substring(text)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
