import ChorusCore
import Testing

@Suite("TextStatsAccumulator (characters, words, average word length)")
struct TextStatsAccumulatorTests {
    /// The definition the byte-level fast path must agree with: one count per grapheme, whitespace
    /// as Character.isWhitespace says.
    struct Reference {
        var characters = 0
        var words = 0
        var wordCharacters = 0
        var insideWord = false

        mutating func add(_ text: String) {
            for character in text {
                characters += 1
                if character.isWhitespace {
                    insideWord = false
                } else {
                    wordCharacters += 1
                    if !insideWord { words += 1 }
                    insideWord = true
                }
            }
        }
    }

    static func check(_ chunks: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        var fast = TextStatsAccumulator()
        var reference = Reference()
        for chunk in chunks {
            fast.add(chunk)
            reference.add(chunk)
        }
        #expect(fast.characters == reference.characters, "\(chunks)", sourceLocation: sourceLocation)
        #expect(fast.words == reference.words, "\(chunks)", sourceLocation: sourceLocation)
        #expect(fast.wordCharacters == reference.wordCharacters, "\(chunks)", sourceLocation: sourceLocation)
    }

    @Test("counts plain ASCII text", arguments: [
        ["The quick brown fox"], ["  leading", " and trailing  "], ["split wo", "rd across chunks"],
        [""], ["\t\n\u{0B}\u{0C}\r "], ["a\r\nb"], ["line\r", "\nnext"], ["\r\n\r\n"], ["x\ry\nz"],
    ])
    func ascii(chunks: [String]) {
        Self.check(chunks)
    }

    @Test("counts non-ASCII text like Character does", arguments: [
        ["naïve café"], ["日本語 の テキスト"], ["emoji 👩‍👩‍👧 family", " 🇫🇷"], ["e\u{301} combining"],
        ["no-break\u{A0}space"], ["ideographic\u{3000}space"], ["next\u{85}line"], ["mixed ascii", " and ünïcode"],
    ])
    func unicode(chunks: [String]) {
        Self.check(chunks)
    }

    @Test("matches the reference on random chunkings of random text")
    func random() {
        let alphabet: [String] = ["a", "b", "Z", " ", "\t", "\n", "\r", "\r\n", ".", "é", "😀", "\u{A0}", "\u{2003}"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let chunks = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            }
            Self.check(chunks)
        }
    }

    @Test("reports the average word length")
    func average() {
        var stats = TextStatsAccumulator()
        #expect(stats.averageWordLength == 0)
        stats.add("ab abcd")
        #expect(stats.words == 2)
        #expect(stats.averageWordLength == 3)
    }
}
