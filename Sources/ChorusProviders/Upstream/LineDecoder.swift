/// An incremental splitter for newline-delimited JSON (TwelveLabs' analyze stream).
///
/// Splits on `\n` only (a bare `\r` is not a line end in NDJSON), drops one trailing `\r`, skips
/// empty lines, and keeps a partial line until its end arrives, so a chunk boundary inside a
/// multi-byte UTF-8 character never damages it.
///
/// ```swift
/// var lines = LineDecoder()
/// for try await chunk in response.body {
///     for line in try lines.feed(chunk) { try handle(line) }
/// }
/// ```
public struct LineDecoder: Sendable {
    public let maxLineBytes: Int
    private var line: [UInt8] = []

    public init(maxLineBytes: Int = 4 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes of an unfinished line (non-zero at the end of a stream that was cut mid-line).
    public var pendingBytes: [UInt8] { line }

    /// Feeds one chunk; returns each complete non-empty line (without its line end).
    public mutating func feed(_ chunk: some Sequence<UInt8>) throws(SSEDecoder.LineTooLong) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if !line.isEmpty { lines.append(line) }
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(byte)
                if line.count > maxLineBytes {
                    throw SSEDecoder.LineTooLong(limit: maxLineBytes, prefix: Array(line.prefix(80)))
                }
            }
        }
        return lines
    }

    /// The last line when the stream ended without a final `\n` (nil when nothing is pending).
    public mutating func finish() -> [UInt8]? {
        defer { line.removeAll() }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        return trimmed.isEmpty ? nil : line
    }
}
