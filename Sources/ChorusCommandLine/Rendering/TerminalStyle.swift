/// ANSI escape sequences for the live terminal view, and optional colouring.
///
/// Cursor control is always used in terminal mode; colours only when ``colors`` is true
/// (`--no-color` or `NO_COLOR` turn them off).
public struct TerminalStyle: Sendable, Hashable {
    /// Whether the colour helpers emit SGR sequences; cursor control is unaffected.
    public var colors: Bool

    public init(colors: Bool) {
        self.colors = colors
    }

    /// Hides the cursor while frames are redrawn (avoids a flickering cursor).
    public static let hideCursor = "\u{1B}[?25l"
    /// Shows the cursor again; always written at the end of terminal output.
    public static let showCursor = "\u{1B}[?25h"
    /// Erases the whole current line.
    public static let clearLine = "\u{1B}[2K"
    /// Erases from the cursor to the end of the screen.
    public static let clearToEnd = "\u{1B}[J"

    /// Moves the cursor to the start of the line `count` lines up.
    public static func cursorUp(_ count: Int) -> String {
        count > 0 ? "\r\u{1B}[\(count)A" : "\r"
    }

    /// The colour helpers wrap `text` in an SGR sequence and a reset, or return it unchanged without colours.
    public func bold(_ text: String) -> String { apply("1", text) }
    public func dim(_ text: String) -> String { apply("2", text) }
    public func red(_ text: String) -> String { apply("31", text) }
    public func green(_ text: String) -> String { apply("32", text) }
    public func yellow(_ text: String) -> String { apply("33", text) }
    public func cyan(_ text: String) -> String { apply("36", text) }

    /// Colours a model status the same way everywhere: waiting dim, active cyan,
    /// completed green, error red.
    public func status(_ status: AnalyzeProgress.Status, _ text: String) -> String {
        switch status {
        case .waiting: return dim(text)
        case .active: return cyan(text)
        case .completed: return green(text)
        case .error: return red(text)
        }
    }

    private func apply(_ code: String, _ text: String) -> String {
        guard colors, !text.isEmpty else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
