/// Parses Go's `time.Duration` text, the format of OpenAI's `x-ratelimit-reset-requests` and
/// `x-ratelimit-reset-tokens` headers: `12ms`, `1s`, `6m0s`, `1h2m3.5s`, `0`.
///
/// A duration is one or more `<decimal><unit>` terms (units `h`, `m`, `s`, `ms`, `us`/`µs`, `ns`);
/// a bare `0` is allowed, as Go prints it. Negative or malformed values give nil: a reset time the
/// adapter cannot read is better ignored than guessed.
///
/// ```swift
/// GoDuration.parse("6m0s")   // .seconds(360)
/// GoDuration.parse("12ms")   // .milliseconds(12)
/// ```
enum GoDuration {
    static func parse(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingWhitespace())
        if rest.first == "+" { rest = rest.dropFirst() }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { return nil }
        var total = Duration.zero
        while !rest.isEmpty {
            // The number: digits with at most one decimal point, at least one digit.
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard number.contains(where: \.isNumber), number.filter({ $0 == "." }).count <= 1,
                let value = Double(number.hasPrefix(".") ? "0" + number : String(number))
            else { return nil }
            rest = rest.dropFirst(number.count)
            // The unit: the longest run of letters (µ included) before the next number.
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest = rest.dropFirst(unit.count)
            guard let scale = nanosecondsPerUnit[String(unit)] else { return nil }
            let nanoseconds = value * scale
            guard nanoseconds.isFinite, nanoseconds < 1e18 else { return nil }
            total += .nanoseconds(Int64(nanoseconds.rounded()))
        }
        return total
    }

    private static let nanosecondsPerUnit: [String: Double] = [
        "ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
    ]
}

extension String {
    fileprivate func trimmingWhitespace() -> Substring {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map(index(after:)) ?? start
        return self[start..<end]
    }
}
