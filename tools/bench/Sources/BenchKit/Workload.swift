/// The text events every streaming scenario sends, identical on the Chorus and the gRPC side.
///
/// Texts are 16–64 bytes of ASCII words, varied deterministically: event `i` carries
/// `TextWorkload.text(at: i)`. They come from a pre-built pool (251 entries, a prime, so the
/// length sequence does not line up with powers of two), so neither server pays for building
/// strings and both send exactly the same bytes.
public enum TextWorkload {
    public static let minLength = 16
    public static let maxLength = 64
    public static let poolSize = 251

    /// The model name carried by every text event.
    public static let model = "bench"

    public static let pool: [String] = (0..<poolSize).map { index in
        let length = minLength + (index * 37) % (maxLength - minLength + 1)
        return makeText(length: length, seed: index)
    }

    private static let lengths: [Int] = pool.map(\.utf8.count)

    /// The text of event `index` (0-based among the text events).
    @inline(__always)
    public static func text(at index: Int) -> String { pool[index % poolSize] }

    /// The UTF-8 length of ``text(at:)``.
    @inline(__always)
    public static func length(at index: Int) -> Int { lengths[index % poolSize] }

    /// A text of exactly `size` bytes (for scenarios with a fixed payload size).
    public static func fixedText(size: Int) -> String { makeText(length: size, seed: size) }

    /// Total payload bytes of the first `count` texts.
    public static func payloadBytes(count: Int) -> Int {
        let perPool = lengths.reduce(0, +)
        let full = count / poolSize
        return full * perPool + lengths.prefix(count % poolSize).reduce(0, +)
    }

    private static let words = [
        "the", "model", "sees", "a", "red", "car", "turning", "left", "near", "market", "while",
        "two", "people", "cross", "street", "under", "light", "rain", "camera", "pans", "slowly",
    ]

    private static func makeText(length: Int, seed: Int) -> String {
        var text = ""
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        while text.utf8.count < length {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            if !text.isEmpty { text += " " }
            text += words[Int((state >> 33) % UInt64(words.count))]
        }
        return String(text.utf8.prefix(length))!
    }
}
