/// A small deterministic random number generator (SplitMix64) for the demo provider.
///
/// Seeded from a stable hash of the model and query, so the same question always gets the same
/// answer from the same model, across processes and platforms. Swift's `Hasher` is randomly seeded
/// per process and must not be used for this.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    /// Seeds from the FNV-1a hash of `parts`, each followed by a 0 byte so `("ab", "c")` and
    /// `("a", "bc")` differ.
    init(hashing parts: String...) {
        self.init(seed: SeededGenerator.fnv1a(parts))
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 64-bit FNV-1a over the UTF-8 bytes of `parts`.
    static func fnv1a(_ parts: [String]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01B3
            }
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    // The helpers below avoid `Int.random(in:using:)`: its mapping from raw bits to a range is a
    // standard-library detail that may change, and demo answers must stay stable across toolchains.

    /// A value in `0..<bound` (`bound` > 0). The modulo bias is irrelevant at these sizes.
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// An element of `choices` (which must not be empty).
    mutating func pick<T>(_ choices: [T]) -> T {
        choices[below(choices.count)]
    }

    /// A value in `range`.
    mutating func value(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    /// True with probability `percent` / 100.
    mutating func chance(_ percent: Int) -> Bool {
        below(100) < percent
    }
}
