public import ChorusCore

/// Turns the events of one `analyze` call into output.
///
/// A renderer is a plain value driven by ``AnalyzeRunner``: ``render(_:)`` for every event in
/// order, ``tick()`` periodically when ``tickInterval`` is set, and ``finish(_:)`` exactly once.
/// Calls never overlap, so implementations need no locking. Renderers write to an injected
/// ``TextOutput`` and never read the clock or the terminal themselves unless injected, which is
/// what makes them testable with scripted events.
public protocol AnalyzeRenderer: Sendable {
    /// How often ``tick()`` should be called; nil when the renderer only reacts to events.
    var tickInterval: Duration? { get }

    mutating func render(_ event: AnalyzeEvent)

    /// Called every ``tickInterval`` while the call runs, e.g. to redraw a throttled view.
    mutating func tick()

    /// Writes whatever belongs after the last event (summary, table, call-level error line).
    mutating func finish(_ outcome: AnalyzeOutcome)
}

extension AnalyzeRenderer {
    public var tickInterval: Duration? { nil }

    public mutating func tick() {}
}

/// How `chorus analyze` prints.
public enum OutputMode: String, Sendable, Hashable {
    /// Live side-by-side columns and a final comparison table (``TerminalRenderer``).
    case terminal
    /// Line-oriented text for pipes and logs (``PlainRenderer``).
    case plain
    /// One JSON object per event (``JSONRenderer``).
    case json

    /// `--json` wins, then `--plain`; otherwise terminal when standard output is a terminal and
    /// plain when it is piped or redirected.
    public static func resolve(json: Bool, plain: Bool, standardOutputIsTerminal: Bool) -> OutputMode {
        if json { return .json }
        if plain || !standardOutputIsTerminal { return .plain }
        return .terminal
    }
}
