/// Builds the demo provider's answers: plausible, multi-sentence descriptions of a video, assembled
/// from a phrase bank with a seeded generator, and split into chunks the way a model would stream them.
///
/// Everything here is a pure function of its inputs, so the same (model, query) always yields the same
/// words and the same chunks.
enum DemoText {
    /// An answer of exactly `wordCount` words about a video, mentioning the query's topic when it has one.
    static func answer(wordCount: Int, topic: [String], using rng: inout SeededGenerator) -> [String] {
        precondition(wordCount >= 1)
        let closer = words(closing(using: &rng))
        // Keep room for the closing sentence when the answer is long enough to carry one.
        let useCloser = wordCount >= closer.count + 8
        let budget = useCloser ? wordCount - closer.count : wordCount
        var answer: [String] = []

        func take(_ sentence: String) -> Bool {
            let sentenceWords = words(sentence)
            guard answer.count + sentenceWords.count <= budget else { return false }
            answer += sentenceWords
            return true
        }

        _ = take(rng.pick(PhraseBank.openers))
        if !topic.isEmpty {
            let subject = DemoText.list(topic.map { "\"\($0)\"" })
            _ = take(
                rng.pick(PhraseBank.topicSentences).replacing("{topic}", with: subject).replacing(
                    "{when}", with: rng.pick(PhraseBank.moments)))
        }
        // Body sentences until the budget is nearly used; a few misses in a row mean only a short
        // remainder is left, which the filler pieces cover exactly.
        var misses = 0
        while misses < 3 {
            let sentence = rng.chance(70) ? scene(using: &rng) : rng.pick(PhraseBank.observations)
            misses = take(sentence) ? 0 : misses + 1
        }
        var remainder = budget - answer.count
        while remainder > 0 {
            let piece = rng.pick(PhraseBank.fillers[min(remainder, PhraseBank.fillers.count) - 1])
            answer += words(piece)
            remainder = budget - answer.count
        }
        if useCloser { answer += closer }
        return answer
    }

    /// Splits `words` into chunk texts of `wordsPerChunk` words each, as they would be streamed:
    /// every chunk after the first starts with the space that separates it from the previous one.
    static func chunks(
        of words: [String], wordsPerChunk: ClosedRange<Int>, using rng: inout SeededGenerator
    ) -> [String] {
        var chunks: [String] = []
        var index = 0
        while index < words.count {
            let size = min(rng.value(in: wordsPerChunk), words.count - index)
            let text = words[index..<index + size].joined(separator: " ")
            chunks.append(index == 0 ? text : " " + text)
            index += size
        }
        return chunks
    }

    /// Up to three distinctive words of the query (lowercased), used to tie the answer to the question.
    static func topic(of query: String) -> [String] {
        var seen = Set<String>()
        var topic: [String] = []
        for word in query.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }) {
            let word = String(word)
            guard word.count >= 3, !PhraseBank.stopWords.contains(word), seen.insert(word).inserted else { continue }
            topic.append(word)
            if topic.count == 3 { break }
        }
        return topic
    }

    /// `a`, `a and b`, `a, b and c`.
    static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
    }

    private static func scene(using rng: inout SeededGenerator) -> String {
        var sentence =
            "\(rng.pick(PhraseBank.transitions)) \(rng.pick(PhraseBank.subjects)) \(rng.pick(PhraseBank.actions))"
        if rng.chance(60) { sentence += " \(rng.pick(PhraseBank.details))" }
        return sentence + "."
    }

    private static func closing(using rng: inout SeededGenerator) -> String {
        "Overall, the video \(rng.pick(PhraseBank.summaries))."
    }

    private static func words(_ sentence: String) -> [String] {
        sentence.split(separator: " ").map(String.init)
    }
}
