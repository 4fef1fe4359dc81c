import ChorusCore

extension Duration {
    /// A compact human form for error messages: `10s`, `1.5s`, `150ms`, `250µs`.
    var compactDescription: String {
        let micros = microseconds
        if micros < 1_000 { return "\(micros)µs" }
        let millis = micros / 1_000
        if millis < 1_000 { return "\(millis)ms" }
        let whole = millis / 1_000
        let fraction = millis % 1_000
        if fraction == 0 { return "\(whole)s" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)s"
    }
}
