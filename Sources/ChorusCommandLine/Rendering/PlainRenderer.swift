public import ChorusCore

/// Line-oriented output for pipes, files and `--plain`.
///
/// Every line is complete and belongs to one model or to the call, so interleaved models never mix
/// inside a line and the output is easy to `grep`:
///
/// ```text
/// == request req-42: 2 models (gemini, pegasus)
/// == gemini started (provider demo)
/// == pegasus started (provider demo)
/// [gemini] The video shows a red car driving along a coastal road while a drone follows it from
/// [gemini] above.
/// == gemini completed in 1.20 s: 42 words, 230 characters, first token 120 ms, 35.0 tokens/s, finish stop
/// == pegasus error: UNAVAILABLE: upstream is down (retryable)
/// == complete in 2.30 s: 1 of 2 models succeeded; failed: pegasus
/// ```
///
/// Model text lines start with `[model] `; status lines start with `== ` and so can never be
/// confused with text. Text is buffered per model and a line is written as soon as the model sends
/// a newline, or when the pending line reaches ``lineWidth`` characters (broken at the last space),
/// or when the model ends. Emitting per chunk would cut words into fragments on separate lines;
/// this keeps the text readable while still streaming it line by line.
///
/// Control characters in model text are removed, so a model cannot send escape sequences to a
/// terminal that happens to display the output.
public struct PlainRenderer: AnalyzeRenderer {
    /// Longest text part of a line (without the `[model] ` prefix) before it is broken.
    public var lineWidth: Int

    private let output: any TextOutput
    private var progress = AnalyzeProgress()
    /// Text received per model but not yet written because its line is not finished.
    private var pending: [String: String] = [:]

    /// - Parameter lineWidth: at least 10; see ``lineWidth``.
    public init(output: any TextOutput, lineWidth: Int = 100) {
        self.output = output
        self.lineWidth = max(10, lineWidth)
    }

    public mutating func render(_ event: AnalyzeEvent) {
        progress.apply(event)
        switch event.payload {
        case .start(let start):
            let source = start.recommended ? ", recommended by the server" : ""
            let count = start.models.count == 1 ? "1 model" : "\(start.models.count) models"
            status("request \(start.requestID): \(count) (\(start.models.joined(separator: ", "))\(source))")
        case .modelStart(let start):
            status("\(start.model) started (provider \(start.provider))")
        case .textGeneration(let chunk):
            append(TextLayout.sanitize(chunk.text, tabReplacement: "\t"), for: chunk.model)
        case .modelEnd(let end):
            flush(end.model)
            status("\(end.model) completed in \(PlainRenderer.summary(of: end.stats))")
        case .error(let error):
            flush(error.model)
            status("\(error.model) error: \(PlainRenderer.describe(error))")
        case .complete(let complete):
            flushAll()
            let total = complete.succeeded.count + complete.failed.count
            var line = "complete in \(Formatting.duration(complete.duration)): "
            line += "\(complete.succeeded.count) of \(total) models succeeded"
            if !complete.failed.isEmpty {
                line += "; failed: \(complete.failed.joined(separator: ", "))"
            }
            status(line)
        }
    }

    public mutating func finish(_ outcome: AnalyzeOutcome) {
        // After a failure or an interruption, print what arrived rather than lose it; the reason
        // itself goes to standard error (see `AnalyzeCommand`).
        flushAll()
    }

    /// `1.20 s: 42 words, 230 characters, first token 120 ms, 35.0 tokens/s, finish stop`.
    static func summary(of stats: ModelStats) -> String {
        var text = "\(Formatting.duration(stats.duration)): \(stats.words) words, \(stats.characters) characters, "
        text += "first token \(Formatting.duration(stats.timeToFirstToken)), "
        text += "\(Formatting.fixed(stats.tokensPerSecond, decimals: 1)) tokens/s"
        if !stats.finishReason.isEmpty { text += ", finish \(stats.finishReason)" }
        if stats.cached { text += ", cached" }
        return text
    }

    /// `UNAVAILABLE: upstream is down (retryable, retry after 1.50 s)`.
    static func describe(_ error: ModelError) -> String {
        var text = "\(error.code.name): \(TextLayout.sanitize(error.message, tabReplacement: " "))"
        if error.retryable {
            text += error.retryAfter.map { " (retryable, retry after \(Formatting.duration($0)))" } ?? " (retryable)"
        }
        return text
    }

    // MARK: Lines

    private func status(_ text: String) {
        output.write("== \(TextLayout.sanitize(text, tabReplacement: " ").replacing("\n", with: " "))\n")
    }

    private mutating func append(_ text: String, for model: String) {
        var line = pending[model] ?? ""
        var lineCount = line.count
        for character in text {
            if character == "\n" {
                emit(line, for: model)
                line = ""
                lineCount = 0
                continue
            }
            line.append(character)
            lineCount += 1
            if lineCount > lineWidth {
                // Break at the last space so words stay whole; a single overlong word is cut.
                if let space = line.lastIndex(of: " "), space != line.startIndex {
                    emit(String(line[..<space]), for: model)
                    line = String(line[line.index(after: space)...])
                } else {
                    let cut = line.index(line.startIndex, offsetBy: lineWidth)
                    emit(String(line[..<cut]), for: model)
                    line = String(line[cut...])
                }
                lineCount = line.count
            }
        }
        pending[model] = line
    }

    private mutating func flush(_ model: String) {
        if let line = pending.removeValue(forKey: model), !line.isEmpty {
            emit(line, for: model)
        }
    }

    private mutating func flushAll() {
        // In stream order of the models, not dictionary order, so output is deterministic.
        for model in progress.models {
            flush(model.name)
        }
    }

    private func emit(_ line: String, for model: String) {
        output.write(line.isEmpty ? "[\(model)]\n" : "[\(model)] \(line)\n")
    }
}
