import ChorusCore
import Foundation
import Testing

@Suite("JSONWriter escaping and numbers")
struct JSONWriterTests {
    func encoded(_ text: String) -> String {
        var writer = JSONWriter()
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// Parses `["…"]` with Foundation, which rejects raw control characters, and returns the string.
    func roundTrip(_ text: String) throws -> String {
        var writer = JSONWriter()
        writer.strings([text])
        let parsed = try JSONSerialization.jsonObject(with: Data(writer.bytes))
        return try #require((parsed as? [String])?.first)
    }

    static let trickyStrings: [String] = [
        "",
        "plain ascii",
        "say \"hi\"",
        #"back\slash \\ and \" mixed"#,
        "line one\nline two\r\nthree",
        "tab\there",
        "emoji 🎬🐈‍⬛ and 👩🏽‍💻",
        "js separators \u{2028} and \u{2029} end",
        "all controls \u{0}\u{1}\u{7}\u{8}\u{B}\u{C}\u{1B}\u{1F}\u{7F}",
        "non-separator E2 bytes: … – € ™",
        "trailing backslash \\",
        "ünïcödé 日本語 عربى",
    ]

    @Test(arguments: trickyStrings)
    func trickyStringsRoundTripWithoutRawLineBreaks(_ text: String) throws {
        #expect(try roundTrip(text) == text)
        let json = encoded(text)
        #expect(!json.contains("\n"))
        #expect(!json.contains("\r"))
        #expect(!json.unicodeScalars.contains { $0 == "\u{2028}" || $0 == "\u{2029}" })
        #expect(!json.unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test func escapeForms() {
        #expect(encoded("a\"b") == #""a\"b""#)
        #expect(encoded("a\\b") == #""a\\b""#)
        #expect(encoded("\n\r\t\u{8}\u{C}") == #""\n\r\t\b\f""#)
        #expect(encoded("\u{0}\u{1F}\u{1B}") == #""\u0000\u001f\u001b""#)
        #expect(encoded("x\u{2028}y\u{2029}z") == #""x\u2028y\u2029z""#)
        #expect(encoded("🎬") == "\"🎬\"")
        #expect(encoded("…") == "\"…\"")
    }

    @Test(arguments: [
        (0.0, "0"), (2.5, "2.5"), (7.0, "7"), (41.234_56, "41.235"), (0.0004, "0"), (0.0005, "0.001"),
        (1.005, "1.005"), (1.05, "1.05"), (-3.25, "-3.25"), (-0.0001, "0"), (123_456.789_4, "123456.789"),
        (Double.nan, "0"), (Double.infinity, "0"), (-Double.infinity, "0"), (1e300, "1e+300"),
    ])
    func numbers(_ value: Double, _ expected: String) {
        var writer = JSONWriter()
        writer.number(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
    }

    @Test(arguments: [
        (Int64(0), "0"), (1, "0.001"), (1_000, "1"), (1_500, "1.5"), (1_234_567, "1234.567"), (10_050, "10.05"),
        (-2_500, "-2.5"), (Int64.max, "9223372036854775.807"),
    ])
    func millis(_ micros: Int64, _ expected: String) {
        var writer = JSONWriter()
        writer.millis(micros: micros)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == expected)
    }

    @Test func integersAndStructure() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("min")
        writer.integer(Int64.min)
        writer.key("max")
        writer.unsigned(UInt64.max)
        writer.key("list")
        writer.beginArray()
        writer.integer(0)
        writer.integer(-7)
        writer.null()
        writer.bool(false)
        writer.endArray()
        writer.key("nested")
        writer.beginArray()
        writer.beginObject()
        writer.endObject()
        writer.beginArray()
        writer.endArray()
        writer.strings(["x"])
        writer.endArray()
        writer.key("empty")
        writer.beginObject()
        writer.endObject()
        writer.endObject()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(
            text
                == #"{"min":-9223372036854775808,"max":18446744073709551615,"list":[0,-7,null,false],"nested":[{},[],["x"]],"empty":{}}"#
        )
        #expect(try JSONSerialization.jsonObject(with: Data(writer.bytes)) is [String: Any])
    }
}
