import ChorusCommandLine
import Testing

@Suite("Text layout and formatting")
struct TextLayoutTests {
    @Test func wrapBreaksAtWordsAndSplitsLongWords() {
        #expect(TextLayout.wrap("the quick brown fox jumps", width: 10) == ["the quick", "brown fox", "jumps"])
        #expect(TextLayout.wrap("a  b", width: 10) == ["a b"])
        #expect(TextLayout.wrap("one\n\ntwo", width: 10) == ["one", "", "two"])
        #expect(TextLayout.wrap("abcdefghijkl", width: 5) == ["abcde", "fghij", "kl"])
        #expect(TextLayout.wrap("", width: 5) == [""])
        #expect(TextLayout.wrap("日本語のテキスト", width: 6) == ["日本語", "のテキ", "スト"])
    }

    @Test func displayWidthCountsWideCharactersTwice() {
        #expect(TextLayout.displayWidth("abc") == 3)
        #expect(TextLayout.displayWidth("日本") == 4)
        #expect(TextLayout.displayWidth("🎬🐈‍⬛") == 4)
        #expect(TextLayout.displayWidth("é") == 1)
        #expect(TextLayout.displayWidth("❤️") == 2)
    }

    @Test func truncateAndPad() {
        #expect(TextLayout.truncate("abcdef", width: 4) == "abc…")
        #expect(TextLayout.truncate("abc", width: 4) == "abc")
        #expect(TextLayout.truncate("abc", width: 1) == "…")
        #expect(TextLayout.pad("ab", to: 4) == "ab  ")
        #expect(TextLayout.pad("ab", to: 4, alignRight: true) == "  ab")
        #expect(TextLayout.pad("日本語", to: 5) == "日本…")
    }

    @Test func sanitizeKeepsNewlinesAndDropsControls() {
        #expect(TextLayout.sanitize("a\r\nb\rc\td\u{1B}[0m\u{0}\u{9B}e") == "a\nb\nc    d[0me")
        #expect(TextLayout.sanitize("tab\there", tabReplacement: " ") == "tab here")
    }

    @Test(arguments: [
        (4.5, 2, "4.50"), (35.04, 1, "35.0"), (-0.04, 1, "0.0"), (-1.25, 1, "-1.3"), (7, 0, "7"), (Double.nan, 1, "-"),
    ])
    func fixedDecimals(_ value: Double, _ decimals: Int, _ expected: String) {
        #expect(Formatting.fixed(value, decimals: decimals) == expected)
    }

    @Test func durations() {
        #expect(Formatting.duration(.microseconds(120_400)) == "120 ms")
        #expect(Formatting.duration(.milliseconds(1_204)) == "1.20 s")
        #expect(Formatting.duration(.seconds(125)) == "2m 05s")
        #expect(Formatting.elapsed(.milliseconds(3_449)) == "3.4s")
        #expect(Formatting.uptime(.seconds(45)) == "45s")
        #expect(Formatting.uptime(.seconds(18_123)) == "5h 02m 03s")
        #expect(Formatting.uptime(.seconds(273_900)) == "3d 04h 05m")
    }

    @Test func tableAlignsColumns() {
        var table = TextTable(columns: [.init("Name"), .init("Count", alignment: .right)])
        table.append(["a", "1"])
        table.append(["longer", "100"])
        #expect(
            table.render(style: TerminalStyle(colors: false)) == [
                "Name    Count",
                "──────  ─────",
                "a           1",
                "longer    100",
            ]
        )
        var described = TextTable(columns: [.init("Name"), .init("Description")])
        described.append(["gemini", "A very long description that does not fit"])
        #expect(
            described.render(style: TerminalStyle(colors: false), maxWidth: 24) == [
                "Name    Description",
                "──────  ────────────────",
                "gemini  A very long des…",
            ]
        )
    }
}
