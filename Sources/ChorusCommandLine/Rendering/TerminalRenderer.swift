public import ChorusCore

/// The interactive view: live side-by-side columns, one per model, redrawn in place, then a
/// comparison table when the call ends.
///
/// Redraws are throttled to one per ``Configuration/redrawInterval`` (50 ms, so at most 20 per
/// second): an event arriving sooner only updates state, and the next ``tick()`` draws it. A frame
/// identical to the previous one is not written at all. While the call runs, each column shows only
/// its newest lines so the whole frame fits on the screen (moving the cursor above the top of the
/// screen is impossible, so a taller frame could not be redrawn); the final frame shows every line.
///
/// ```swift
/// let renderer = TerminalRenderer(
///     output: FileDescriptorOutput.standardOutput,
///     configuration: .init(size: TerminalInfo.size(environment: env), style: TerminalStyle(colors: true))
/// )
/// let outcome = await AnalyzeRunner.run(request, timeout: nil, backend: backend, renderer: renderer)
/// ```
public struct TerminalRenderer: AnalyzeRenderer {
    /// What the renderer needs to know about the terminal.
    public struct Configuration: Sendable {
        /// The terminal size, read once at start.
        public var size: TerminalSize
        /// Colours on or off.
        public var style: TerminalStyle
        /// Minimum time between two redraws.
        public var redrawInterval: Duration

        public init(size: TerminalSize, style: TerminalStyle, redrawInterval: Duration = .milliseconds(50)) {
            self.size = size
            self.style = style
            self.redrawInterval = redrawInterval
        }
    }

    public var tickInterval: Duration? { configuration.redrawInterval }
    /// How many frames were written so far (for tests of the throttle).
    public private(set) var frameCount = 0
    /// Everything rendered so far.
    public private(set) var progress = AnalyzeProgress()

    private let output: any TextOutput
    private let configuration: Configuration
    /// Time since the call started; injected so tests control the throttle and the elapsed time.
    private let elapsed: @Sendable () -> Duration
    private var wrapCache: [String: (utf8Count: Int, width: Int, lines: [String])] = [:]
    private var drawnLineCount = 0
    private var lastFrame: [String] = []
    private var lastDrawTime: Duration?

    /// - Parameter elapsed: time since the call started; defaults to the continuous clock from now.
    public init(output: any TextOutput, configuration: Configuration, elapsed: (@Sendable () -> Duration)? = nil) {
        self.output = output
        self.configuration = configuration
        if let elapsed {
            self.elapsed = elapsed
        } else {
            let start = ContinuousClock.now
            self.elapsed = { ContinuousClock.now - start }
        }
    }

    public mutating func render(_ event: AnalyzeEvent) {
        progress.apply(event)
        redrawIfDue()
    }

    public mutating func tick() {
        redrawIfDue()
    }

    public mutating func finish(_ outcome: AnalyzeOutcome) {
        let now = elapsed()
        let footer: String
        switch outcome {
        case .completed(let complete):
            let total = complete.succeeded.count + complete.failed.count
            footer = "done in \(Formatting.duration(complete.duration)) · "
                + "\(complete.succeeded.count) of \(total) models succeeded · request \(complete.requestID)"
        case .failed(let error):
            footer = "call failed after \(Formatting.elapsed(now)): \(error.code.name): \(error.message)"
        case .interrupted:
            footer = "interrupted after \(Formatting.elapsed(now))"
        }
        // The final frame has no height limit: it is printed once and may scroll.
        draw(frame(bodyLimit: nil, footer: footer))
        var tail = ""
        if !progress.models.isEmpty {
            tail += "\n" + ComparisonTable.render(progress, style: configuration.style).joined(separator: "\n") + "\n"
        }
        output.write(tail + TerminalStyle.showCursor)
    }

    // MARK: Drawing

    private mutating func redrawIfDue() {
        let now = elapsed()
        if let lastDrawTime, now - lastDrawTime < configuration.redrawInterval { return }
        let liveFooter = footer(elapsed: now)
        let next = frame(bodyLimit: liveBodyLimit, footer: liveFooter)
        guard next != lastFrame else { return }
        draw(next)
        lastDrawTime = now
    }

    /// Body lines that fit under the header and above the footer, keeping a line for the cursor.
    private var liveBodyLimit: Int {
        max(1, configuration.size.rows - 1 - TerminalFrame.headerLineCount - TerminalFrame.footerLineCount)
    }

    private func footer(elapsed: Duration) -> String {
        guard !progress.models.isEmpty else {
            return "waiting for the server · \(Formatting.elapsed(elapsed)) elapsed"
        }
        var text = "\(progress.finishedCount)/\(progress.models.count) models done"
        if progress.activeCount > 0 { text += " · \(progress.activeCount) streaming" }
        return text + " · \(Formatting.elapsed(elapsed)) elapsed"
    }

    private mutating func frame(bodyLimit: Int?, footer: String) -> [String] {
        let width = configuration.size.columns
        let columnWidth = TerminalFrame.columnLayout(width: width, count: progress.models.count).columnWidth
        let bodies = progress.models.map { model in
            TerminalFrame.body(for: model, wrappedText: wrapped(model, width: columnWidth), columnWidth: columnWidth)
        }
        return TerminalFrame.lines(
            progress: progress,
            bodies: bodies,
            width: width,
            bodyLimit: bodyLimit,
            footer: footer,
            style: configuration.style
        )
    }

    /// Wraps a model's text, reusing the last result while the text and width are unchanged
    /// (most ticks and most events leave most columns untouched).
    private mutating func wrapped(_ model: AnalyzeProgress.Model, width: Int) -> [String] {
        let utf8Count = model.text.utf8.count
        if let cached = wrapCache[model.name], cached.utf8Count == utf8Count, cached.width == width {
            return cached.lines
        }
        let lines = TextLayout.wrap(TextLayout.sanitize(model.text), width: width)
        wrapCache[model.name] = (utf8Count, width, lines)
        return lines
    }

    /// Replaces the previous frame with `lines`: cursor up over the old frame, rewrite each line
    /// (erasing leftovers), erase anything below. One write per frame to avoid flicker.
    private mutating func draw(_ lines: [String]) {
        var text = frameCount == 0 ? TerminalStyle.hideCursor : ""
        if drawnLineCount > 0 {
            text += TerminalStyle.cursorUp(drawnLineCount)
        }
        for line in lines {
            text += TerminalStyle.clearLine + line + "\n"
        }
        text += TerminalStyle.clearToEnd
        output.write(text)
        drawnLineCount = lines.count
        lastFrame = lines
        frameCount += 1
    }
}
