/// An incremental Server-Sent Events parser over raw bytes (the WHATWG rules the provider SDKs use).
///
/// Chunks may split anywhere: inside a line, between `\r` and `\n`, inside a multi-byte UTF-8
/// character. Bytes are kept until a line is complete, and text is decoded per complete event, so a
/// split character is never damaged. LF, CRLF and CR end lines; an empty line ends an event; lines
/// starting with `:` are comments; `data` lines of one event are joined with `\n`; one space after
/// the colon is removed.
///
/// ```swift
/// var decoder = SSEDecoder()
/// for try await chunk in response.body {
///     for event in try decoder.feed(chunk) { handle(event.data) }
/// }
/// ```
public struct SSEDecoder: Sendable {
    public struct Event: Sendable, Hashable {
        /// The `event:` field, nil when absent (the default type `message`).
        public var event: String?
        public var data: String
        public var id: String?
    }

    /// Longest line (and longest event data) accepted; more means the upstream is not sending SSE.
    public let maxLineBytes: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var eventID: String?
    private var lastWasCR = false
    private var bomBytesSeen = 0
    /// True when an event has started (some field line arrived) but its blank line has not.
    public private(set) var hasPartialEvent = false

    public init(maxLineBytes: Int = 4 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes received since the last complete line (a cut connection leaves them here).
    public var pendingLineBytes: Int { line.count }

    /// Feeds one chunk and returns the events it completed, in order.
    ///
    /// - Throws: ``SSEDecoder/LineTooLong`` when a line grows past ``maxLineBytes``.
    public mutating func feed(_ chunk: some Sequence<UInt8>) throws(LineTooLong) -> [Event] {
        var events: [Event] = []
        // Free for the [UInt8] chunks the transports hand over (copy-on-write), one copy otherwise.
        let bytes = Array(chunk)
        var index = 0
        while index < bytes.count, bomBytesSeen < 3 {
            // A UTF-8 byte order mark at the very start of the stream is ignored (WHATWG).
            let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
            let byte = bytes[index]
            index += 1
            if byte == bom[bomBytesSeen] {
                bomBytesSeen += 1
                continue
            }
            let partial = bom.prefix(bomBytesSeen)
            bomBytesSeen = 3
            for earlier in partial { try consume(earlier, into: &events) }
            try consume(byte, into: &events)
        }
        // Runs of line bytes are copied at once; only line ends are handled one by one (this
        // runs for every streamed chunk of every upstream answer).
        while index < bytes.count {
            if lastWasCR {
                lastWasCR = false
                if bytes[index] == UInt8(ascii: "\n") {
                    index += 1
                    continue
                }
            }
            let end = Self.lineEnd(in: bytes, from: index)
            if end > index {
                line.append(contentsOf: bytes[index..<end])
                if line.count > maxLineBytes { throw LineTooLong(limit: maxLineBytes, prefix: Array(line.prefix(80))) }
            }
            guard end < bytes.count else { break }
            lastWasCR = bytes[end] == UInt8(ascii: "\r")
            if let event = try endLine() { events.append(event) }
            index = end + 1
        }
        return events
    }

    /// The index of the first CR or LF at or after `start`, or `bytes.count`. Scanned through a
    /// buffer pointer: every byte of every upstream answer passes here (on an array, bounds checks
    /// made this loop 12 instructions per byte under callgrind).
    private static func lineEnd(in bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var end = start
            while end < buffer.count {
                let byte = buffer[end]
                // One compare for the common case: every byte above CR is neither CR nor LF.
                if byte <= UInt8(ascii: "\r"), byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { break }
                end += 1
            }
            return end
        }
    }

    private mutating func consume(_ byte: UInt8, into events: inout [Event]) throws(LineTooLong) {
        if lastWasCR {
            lastWasCR = false
            if byte == UInt8(ascii: "\n") { return }
        }
        switch byte {
        case UInt8(ascii: "\n"):
            if let event = try endLine() { events.append(event) }
        case UInt8(ascii: "\r"):
            lastWasCR = true
            if let event = try endLine() { events.append(event) }
        default:
            line.append(byte)
            if line.count > maxLineBytes { throw LineTooLong(limit: maxLineBytes, prefix: Array(line.prefix(80))) }
        }
    }

    /// A line longer than the decoder accepts.
    public struct LineTooLong: Error, Sendable {
        public var limit: Int
        public var prefix: [UInt8]
    }

    private mutating func endLine() throws(LineTooLong) -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            // Blank line: dispatch.
            defer {
                data.removeAll(keepingCapacity: true)
                hasData = false
                eventType = nil
                hasPartialEvent = false
            }
            guard hasData else { return nil }
            return Event(event: eventType, data: String(decoding: data, as: UTF8.self), id: eventID)
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        hasPartialEvent = true
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let name = line[..<(colon ?? line.endIndex)]
        var valueStart = colon.map { line.index(after: $0) } ?? line.endIndex
        if valueStart < line.endIndex && line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = line[valueStart...]
        if name.elementsEqual("data".utf8) {
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
            // Many `data:` lines add up to one event: bound the event, not only each line.
            if data.count > maxLineBytes { throw LineTooLong(limit: maxLineBytes, prefix: Array(data.prefix(80))) }
        } else if name.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if name.elementsEqual("id".utf8) {
            eventID = String(decoding: value, as: UTF8.self)
        }
        // `retry` and unknown fields are ignored, as the spec says.
        return nil
    }
}
