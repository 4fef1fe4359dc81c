import ChorusCore

/// Number and duration formats shared by the renderers. No Foundation, no locale: output is the
/// same on every machine, which keeps it diffable and testable.
public enum Formatting {
    /// `value` rounded to `decimals` places, trailing zeros kept: `fixed(4.5, 2)` is `"4.50"`.
    /// Non-finite values print as `-`.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * scale).rounded()
        guard scaled < 9e15 else { return value.rounded().description }
        let units = UInt64(scaled)
        let factor = UInt64(scale)
        let sign = value < 0 && units != 0 ? "-" : ""
        let whole = String(units / factor)
        guard decimals > 0 else { return sign + whole }
        let fraction = String(units % factor)
        return sign + whole + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// A short human duration: `"850 ms"` under a second, `"1.20 s"` up to a minute,
    /// `"2m 05s"` above.
    public static func duration(_ duration: Duration) -> String {
        let micros = duration.microseconds
        if micros < 1_000_000 {
            return "\((micros + 500) / 1_000) ms"
        }
        if micros < 60_000_000 {
            return fixed(Double(micros) / 1_000_000, decimals: 2) + " s"
        }
        let seconds = (micros + 500_000) / 1_000_000
        return "\(seconds / 60)m " + twoDigits(seconds % 60) + "s"
    }

    /// Elapsed time for progress lines, one decimal: `"3.4s"`.
    public static func elapsed(_ duration: Duration) -> String {
        fixed(duration.seconds, decimals: 1) + "s"
    }

    /// A long uptime: `"45s"`, `"12m 03s"`, `"5h 02m 03s"`, `"3d 04h 05m"`.
    public static func uptime(_ duration: Duration) -> String {
        let total = duration.microseconds / 1_000_000
        let (days, hours, minutes, seconds) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60)
        if days > 0 { return "\(days)d " + twoDigits(hours) + "h " + twoDigits(minutes) + "m" }
        if hours > 0 { return "\(hours)h " + twoDigits(minutes) + "m " + twoDigits(seconds) + "s" }
        if minutes > 0 { return "\(minutes)m " + twoDigits(seconds) + "s" }
        return "\(seconds)s"
    }

    private static func twoDigits(_ value: UInt64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
