/// Appends compact JSON to a byte buffer without Foundation and without intermediate strings.
///
/// `JSONWriter` is the primitive under ``AnalyzeEvent/appendJSON(into:)``: it sits on the SSE hot
/// path, so every method appends UTF-8 bytes straight into the caller's `[UInt8]`, which the caller
/// can keep and reuse (`removeAll(keepingCapacity: true)`) across events. It never emits a raw line
/// break: strings are escaped, numbers are plain digits.
///
/// The writer does not check structure (balanced braces, commas); the typed encoders in this folder
/// are the only callers and each writes one fixed shape.
///
/// ```swift
/// var bytes: [UInt8] = []
/// var writer = JSONWriter(appendingTo: bytes)
/// writer.beginObject()
/// writer.key("model"); writer.string("gemini")
/// writer.key("duration_ms"); writer.millis(micros: 1_234_567)
/// writer.endObject()
/// bytes = writer.bytes   // {"model":"gemini","duration_ms":1234.567}
/// ```
public struct JSONWriter: Sendable {
    /// The JSON written so far (plus whatever the buffer held before).
    public var bytes: [UInt8]
    // True right after `{` or `[`, so the next member needs no comma.
    private var atContainerStart = true

    /// Starts writing at the end of `buffer`.
    public init(appendingTo buffer: [UInt8] = []) {
        self.bytes = buffer
    }

    // MARK: Structure

    /// Writes `{` (after a comma when it is not the first value of its container).
    public mutating func beginObject() {
        separateValue()
        bytes.append(UInt8(ascii: "{"))
        atContainerStart = true
    }

    /// Writes `}`.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        atContainerStart = false
    }

    /// Writes `[` (after a comma when it is not the first value of its container).
    public mutating func beginArray() {
        separateValue()
        bytes.append(UInt8(ascii: "["))
        atContainerStart = true
    }

    /// Writes `]`.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        atContainerStart = false
    }

    /// Writes `"name":`, preceded by a comma unless it is the first member of the object.
    public mutating func key(_ name: String) {
        separateValue()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        // The value that follows belongs to this key; it must not get a comma of its own.
        atContainerStart = true
    }

    // MARK: Values

    /// Writes a string value, escaped (see `appendQuoted`).
    public mutating func string(_ value: String) {
        separateValue()
        appendQuoted(value)
        atContainerStart = false
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separateValue()
        appendASCII(value ? "true" : "false")
        atContainerStart = false
    }

    /// Writes `null`.
    public mutating func null() {
        separateValue()
        appendASCII("null")
        atContainerStart = false
    }

    /// Writes a whole number.
    public mutating func integer(_ value: Int64) {
        separateValue()
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        appendDigits(value.magnitude)
        atContainerStart = false
    }

    /// Writes a whole number.
    public mutating func integer(_ value: Int) {
        integer(Int64(value))
    }

    /// Writes a non-negative whole number.
    public mutating func unsigned(_ value: UInt64) {
        separateValue()
        appendDigits(value)
        atContainerStart = false
    }

    /// Writes an array of strings.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for value in values {
            string(value)
        }
        endArray()
    }

    /// Writes a whole number of microseconds as milliseconds with exactly the precision it has:
    /// `1234567` → `1234.567`, `1500` → `1.5`, `2000` → `2`.
    ///
    /// Integer arithmetic only, so no rounding error and no locale.
    public mutating func millis(micros: Int64) {
        separateValue()
        if micros < 0 {
            bytes.append(UInt8(ascii: "-"))
        }
        appendFixedPoint(micros.magnitude, decimals: 3)
        atContainerStart = false
    }

    /// Writes a finite number rounded to at most 3 decimals, trailing zeros dropped
    /// (`41.23456` → `41.235`, `2.5` → `2.5`, `7.0` → `7`).
    ///
    /// NaN and infinities are not valid JSON; they are written as `0` so a broken statistic can
    /// never break the stream for front ends.
    public mutating func number(_ value: Double) {
        separateValue()
        guard value.isFinite else {
            bytes.append(UInt8(ascii: "0"))
            atContainerStart = false
            return
        }
        let scaled = (value.magnitude * 1_000).rounded()
        // Beyond 2^53 a Double no longer holds every integer, and beyond that scale three decimals
        // mean nothing anyway; Swift's shortest round-trip form (e.g. `1e+16`) is valid JSON.
        if scaled >= 9_007_199_254_740_992 {
            appendASCII(value.rounded().description)
        } else {
            let thousandths = UInt64(scaled)
            if value < 0 && thousandths != 0 {
                bytes.append(UInt8(ascii: "-"))
            }
            appendFixedPoint(thousandths, decimals: 3)
        }
        atContainerStart = false
    }

    // MARK: Internals

    private mutating func separateValue() {
        if !atContainerStart {
            bytes.append(UInt8(ascii: ","))
        }
    }

    private mutating func appendASCII(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func appendASCII(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends the decimal digits of `value`.
    private mutating func appendDigits(_ value: UInt64) {
        JSONWriter.appendDecimal(value, to: &bytes)
    }

    /// Appends the decimal digits of `value` to `bytes` without a temporary buffer; for callers that
    /// frame JSON with plain numbers of their own (an SSE block's `id:` line).
    public static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        if value < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value))
            return
        }
        // Write the digits backwards at the end, then reverse them in place.
        let start = bytes.count
        var remaining = value
        while remaining > 0 {
            let (quotient, digit) = remaining.quotientAndRemainder(dividingBy: 10)
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: digit))
            remaining = quotient
        }
        // Swapped by index: `bytes[start...].reverse()` copied the slice into a new array first
        // (the slice shares the array's storage), an allocation per number on the SSE hot path.
        var low = start
        var high = bytes.count - 1
        while low < high {
            bytes.swapAt(low, high)
            low += 1
            high -= 1
        }
    }

    /// Appends `value / 10^decimals` with trailing fractional zeros (and a bare `.`) dropped.
    private mutating func appendFixedPoint(_ value: UInt64, decimals: Int) {
        var divisor: UInt64 = 1
        for _ in 0..<decimals { divisor *= 10 }
        let (whole, fraction) = value.quotientAndRemainder(dividingBy: divisor)
        appendDigits(whole)
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var digits = fraction
        var width = decimals
        while digits % 10 == 0 {
            digits /= 10
            width -= 1
        }
        // Leading zeros of the fraction: 1.005 has fraction 5 at width 3 → "005".
        var leadingZeros = width
        var probe = digits
        while probe > 0 {
            probe /= 10
            leadingZeros -= 1
        }
        for _ in 0..<leadingZeros { bytes.append(UInt8(ascii: "0")) }
        appendDigits(digits)
    }
}
