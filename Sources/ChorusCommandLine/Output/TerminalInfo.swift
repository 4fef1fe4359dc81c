#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The size of a terminal in character cells.
public struct TerminalSize: Sendable, Hashable {
    /// Width in cells.
    public var columns: Int
    /// Height in lines.
    public var rows: Int

    public init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
    }

    /// Used when neither the terminal nor the environment tells.
    public static let fallback = TerminalSize(columns: 100, rows: 24)
}

/// Facts about the process's standard streams that decide how `chorus` prints.
public enum TerminalInfo {
    /// True when standard output is a terminal (not a pipe or a file).
    public static var standardOutputIsTerminal: Bool {
        isatty(1) == 1
    }

    /// The size of the terminal on standard output: `TIOCGWINSZ` first, then the `COLUMNS` and
    /// `LINES` environment variables, then ``TerminalSize/fallback`` (100×24).
    public static func size(environment: [String: String]) -> TerminalSize {
        var window = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &window) == 0, window.ws_col > 0 {
            return TerminalSize(
                columns: Int(window.ws_col),
                rows: window.ws_row > 0 ? Int(window.ws_row) : TerminalSize.fallback.rows
            )
        }
        return size(columnsVariable: environment["COLUMNS"], linesVariable: environment["LINES"])
    }

    /// The environment part of ``size(environment:)``, separated so it can be tested.
    public static func size(columnsVariable: String?, linesVariable: String?) -> TerminalSize {
        let columns = columnsVariable.flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        let rows = linesVariable.flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
        return TerminalSize(
            columns: columns ?? TerminalSize.fallback.columns,
            rows: rows ?? TerminalSize.fallback.rows
        )
    }

    /// Whether colours are wanted: not with `--no-color`, and not when `NO_COLOR` is set to
    /// anything non-empty (https://no-color.org).
    public static func colorsEnabled(noColorFlag: Bool, environment: [String: String]) -> Bool {
        if noColorFlag { return false }
        if let value = environment["NO_COLOR"], !value.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }
}
