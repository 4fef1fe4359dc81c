import NIOCore

/// Splits an SSE response body into events as chunks arrive (any split), without building strings.
///
/// The bridge writes every event as `id: <seq>\ndata: <json>\n\n` (comments `: ping\n\n`, and a
/// final `data: [DONE]\n\n`); the scanner hands each event's `id` (nil for comments and [DONE])
/// and raw bytes to the caller.
struct SSEScanner {
    private var carry = ByteBuffer()
    private(set) var done = false
    private static let separator: [UInt8] = Array("\n\n".utf8)
    private static let doneLine: [UInt8] = Array("data: [DONE]".utf8)

    mutating func feed(_ chunk: ByteBuffer, _ onEvent: (_ id: UInt64?, _ event: UnsafeRawBufferPointer) throws -> Void) rethrows {
        var chunk = chunk
        if carry.readableBytes > 0 {
            carry.writeBuffer(&chunk)
            chunk = carry
            carry = ByteBuffer()
        }
        let consumed: Int = try chunk.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
                guard let length = findBytes(Self.separator, in: rest) else { break }
                let event = UnsafeRawBufferPointer(rebasing: rest[0..<length])
                if Self.hasPrefix(event, Self.doneLine) {
                    done = true
                    try onEvent(nil, event)
                } else {
                    try onEvent(Self.id(of: event), event)
                }
                start += length + 2
            }
            return start
        }
        chunk.moveReaderIndex(forwardBy: consumed)
        if chunk.readableBytes > 0 { carry = ByteBuffer(buffer: chunk) }
    }

    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        bytes.count >= prefix.count && prefix.indices.allSatisfy { bytes[$0] == prefix[$0] }
    }

    /// The number after a leading `id: `, nil when the event has no id line.
    static func id(of event: UnsafeRawBufferPointer) -> UInt64? {
        guard event.count > 4, event[0] == UInt8(ascii: "i"), event[1] == UInt8(ascii: "d"), event[2] == UInt8(ascii: ":"), event[3] == UInt8(ascii: " ") else { return nil }
        var value: UInt64 = 0
        var index = 4
        while index < event.count, event[index] >= 48, event[index] <= 57 {
            value = value * 10 + UInt64(event[index] - 48)
            index += 1
        }
        return index > 4 ? value : nil
    }

    /// Whether `event` contains `needle`.
    static func contains(_ event: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        findBytes(needle, in: event) != nil
    }

    /// The `"timestamp":<ms>` value of an event as Unix microseconds.
    static func timestampMicros(of event: UnsafeRawBufferPointer) -> Int64? {
        let key: [UInt8] = Array("\"timestamp\":".utf8)
        guard let hit = findBytes(key, in: event) else { return nil }
        var index = hit + key.count
        var whole: Int64 = 0
        while index < event.count, event[index] >= 48, event[index] <= 57 {
            whole = whole * 10 + Int64(event[index] - 48)
            index += 1
        }
        var micros = whole * 1000
        if index < event.count, event[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100
            while index < event.count, event[index] >= 48, event[index] <= 57, scale > 0 {
                micros += Int64(event[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        return micros
    }
}

/// The offset of the first occurrence of `needle` in `haystack` (memchr for the first byte, then
/// memcmp; glibc's memmem is not visible to Swift without _GNU_SOURCE).
func findBytes(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
    guard let first = needle.first else { return 0 }
    guard haystack.count >= needle.count, let base = haystack.baseAddress else { return nil }
    return needle.withUnsafeBytes { pattern -> Int? in
        var offset = 0
        let last = haystack.count - needle.count
        while offset <= last {
            guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return nil }
            let position = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + position, pattern.baseAddress!, needle.count) == 0 { return position }
            offset = position + 1
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
