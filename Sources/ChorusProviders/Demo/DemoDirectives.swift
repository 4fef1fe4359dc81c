public import ChorusCore

/// Test switches written into a query, so end-to-end tests can make demo models misbehave through any
/// transport (RPC, HTTP, the CLI) without configuring the server.
///
/// Syntax — any number of bracketed directives anywhere in the query, keys case-insensitive:
///
/// | Directive | Effect |
/// | --- | --- |
/// | `[demo:fast]` | zero delays for every demo model (answers arrive as fast as the client reads) |
/// | `[demo:words=N]` | answers of exactly `N` words (1...5000) |
/// | `[demo:fail=TARGETS]` | the targeted models fail; by default before any text, with `INTERNAL` |
/// | `[demo:stall=TARGETS]` | the targeted models stop producing and hang until cancelled; by default halfway |
/// | `[demo:cutoff=TARGETS]` | the targeted models throw `UNAVAILABLE` "connection to upstream lost mid-answer"; by default halfway |
///
/// `TARGETS` is a comma-separated list of `MODEL[@N][:CODE]`:
/// - `MODEL` is a registry name, or `*` for every demo model;
/// - `@N` triggers after `N` chunks were written (`@0` = before the first chunk);
/// - `:CODE` (for `fail` only) picks the status code by name, e.g. `resource_exhausted`.
///
/// Examples: `[demo:fail=gemini]`, `[demo:fail=gemini@3:unavailable,gpt4o]`, `[demo:stall=pegasus@0]`,
/// `[demo:cutoff=gpt4o] [demo:fast]`. Directives are removed from the query before the answer is
/// generated, so `[demo:fast]` changes timing but not text. An unknown or malformed directive fails the
/// model with `INVALID_ARGUMENT`, so a typo in a test does not pass silently.
public struct DemoDirectives: Sendable, Hashable {
    /// Where in the answer a switch triggers.
    public struct Trigger: Sendable, Hashable {
        /// Chunks written before it triggers; nil means the directive's default.
        public var afterChunks: Int?
        /// Only for `fail`: the status code to fail with.
        public var code: ChorusError.Code?
    }

    public var fast = false
    public var answerWords: Int?
    /// Triggers keyed by model name (`*` for every model).
    public var failures: [String: Trigger] = [:]
    public var stalls: [String: Trigger] = [:]
    public var cutoffs: [String: Trigger] = [:]
    /// The query with every directive removed and whitespace collapsed.
    public var strippedQuery: String

    /// Parses every `[demo:...]` directive in `query`.
    ///
    /// - Throws: ``ChorusError`` with ``ChorusError/Code/invalidArgument`` naming the bad directive.
    public init(parsing query: String) throws(ChorusError) {
        strippedQuery = query
        var remaining = Substring(query)
        var kept = ""
        while let open = DemoDirectives.firstDirective(in: remaining) {
            kept += remaining[..<open.lowerBound]
            guard let close = remaining[open.upperBound...].firstIndex(of: "]") else {
                throw ChorusError(.invalidArgument, "unterminated demo directive '\(remaining[open.lowerBound...])'")
            }
            let body = DemoDirectives.trimmed(remaining[open.upperBound..<close])
            remaining = remaining[remaining.index(after: close)...]
            try apply(String(body))
        }
        kept += remaining
        strippedQuery = kept.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// The switch of kind `key` for `model`, if any (a model-specific one wins over `*`).
    func trigger(_ triggers: [String: Trigger], for model: String) -> Trigger? {
        triggers[model] ?? triggers["*"]
    }

    /// The range of the first case-insensitive `[demo:` in `text`.
    private static func firstDirective(in text: Substring) -> Range<Substring.Index>? {
        let marker = Array("[demo:")
        var index = text.startIndex
        while let open = text[index...].firstIndex(of: "[") {
            var cursor = open
            var matched = 0
            while matched < marker.count, cursor < text.endIndex, text[cursor].lowercased() == String(marker[matched]) {
                matched += 1
                cursor = text.index(after: cursor)
            }
            if matched == marker.count { return open..<cursor }
            index = text.index(after: open)
        }
        return nil
    }

    private static func trimmed(_ text: Substring) -> Substring {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
            let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return text[first...last]
    }

    private mutating func apply(_ body: String) throws(ChorusError) {
        let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
            String(DemoDirectives.trimmed($0))
        }
        let key = parts[0].lowercased()
        let value = parts.count > 1 ? parts[1] : nil
        switch (key, value) {
        case ("fast", nil):
            fast = true
        case ("words", let value?):
            guard let count = Int(value), (1...5_000).contains(count) else {
                throw ChorusError(
                    .invalidArgument, "demo directive 'words' needs a number of words in 1...5000, got '\(value)'")
            }
            answerWords = count
        case ("fail", let value?):
            for (model, trigger) in try DemoDirectives.parseTargets(value, key: key, allowCode: true) {
                failures[model] = trigger
            }
        case ("stall", let value?):
            for (model, trigger) in try DemoDirectives.parseTargets(value, key: key, allowCode: false) {
                stalls[model] = trigger
            }
        case ("cutoff", let value?):
            for (model, trigger) in try DemoDirectives.parseTargets(value, key: key, allowCode: false) {
                cutoffs[model] = trigger
            }
        default:
            throw ChorusError(
                .invalidArgument,
                "unknown demo directive '[demo:\(body)]'; use [demo:fast], [demo:words=N], [demo:fail=MODEL[@N][:CODE]], [demo:stall=MODEL[@N]] or [demo:cutoff=MODEL[@N]]"
            )
        }
    }

    private static func parseTargets(
        _ value: String, key: String, allowCode: Bool
    ) throws(ChorusError) -> [(String, Trigger)] {
        var targets: [(String, Trigger)] = []
        for item in value.split(separator: ",") {
            let target = String(trimmed(item))
            var rest = Substring(target)
            var trigger = Trigger()
            if let colon = rest.firstIndex(of: ":") {
                let name = String(rest[rest.index(after: colon)...])
                guard allowCode, let code = ChorusError.Code(name: name) else {
                    throw ChorusError(
                        .invalidArgument,
                        "demo directive '\(key)=\(target)': '\(name)' is not a status code allowed here")
                }
                trigger.code = code
                rest = rest[..<colon]
            }
            if let at = rest.firstIndex(of: "@") {
                let count = rest[rest.index(after: at)...]
                guard let chunks = Int(count), chunks >= 0 else {
                    throw ChorusError(
                        .invalidArgument, "demo directive '\(key)=\(target)': '@\(count)' must be a chunk count ≥ 0")
                }
                trigger.afterChunks = chunks
                rest = rest[..<at]
            }
            guard !rest.isEmpty else {
                throw ChorusError(.invalidArgument, "demo directive '\(key)=\(target)' names no model")
            }
            targets.append((String(rest), trigger))
        }
        guard !targets.isEmpty else {
            throw ChorusError(.invalidArgument, "demo directive '\(key)' names no model")
        }
        return targets
    }
}
