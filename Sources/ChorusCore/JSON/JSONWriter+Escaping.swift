extension JSONWriter {
    /// Appends `"value"` with JSON escaping.
    ///
    /// Escaped: `"` and `\`, every C0 control character (`\n`, `\r`, `\t`, `\b`, `\f` in their short
    /// form, the rest as `\u00XX`), and U+2028/U+2029, which are legal in JSON but end a line in
    /// JavaScript source and in some line-oriented readers. Everything else, emoji included, is
    /// copied through as UTF-8, in runs rather than byte by byte.
    mutating func appendQuoted(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        // Native Swift strings are already contiguous UTF-8, so this does not copy.
        value.withUTF8 { appendEscaped($0) }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var index = 0
        let count = utf8.count
        while index < count {
            let byte = utf8[index]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0xE2 {
                index += 1
                continue
            }
            if byte == 0xE2 {
                // U+2028 is E2 80 A8 and U+2029 is E2 80 A9; any other E2 sequence is copied as is.
                guard index + 2 < count, utf8[index + 1] == 0x80,
                    utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9
                else {
                    index += 1
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendASCIIEscape(utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029")
                index += 3
                runStart = index
                continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            appendEscape(for: byte)
            index += 1
            runStart = index
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<count]))
    }

    private mutating func appendEscape(for byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): appendASCIIEscape("\\\"")
        case UInt8(ascii: "\\"): appendASCIIEscape("\\\\")
        case UInt8(ascii: "\n"): appendASCIIEscape("\\n")
        case UInt8(ascii: "\r"): appendASCIIEscape("\\r")
        case UInt8(ascii: "\t"): appendASCIIEscape("\\t")
        case 0x08: appendASCIIEscape("\\b")
        case 0x0C: appendASCIIEscape("\\f")
        default:
            appendASCIIEscape("\\u00")
            bytes.append(JSONWriter.hexDigits[Int(byte >> 4)])
            bytes.append(JSONWriter.hexDigits[Int(byte & 0x0F)])
        }
    }

    private mutating func appendASCIIEscape(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
