/// Picks models for a request that names none.
///
/// Rules are tried in order; the first whose keywords occur in the query as whole words
/// (case-insensitive, a trailing "s" allowed) wins; otherwise ``fallback`` applies.
public struct RecommendationTable: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public var keywords: [String]
        public var models: [String]

        public init(keywords: [String], models: [String]) {
            self.keywords = keywords.map { $0.lowercased() }
            self.models = models
        }
    }

    public var rules: [Rule]
    public var fallback: [String]

    public init(rules: [Rule], fallback: [String]) {
        self.rules = rules
        self.fallback = fallback
    }

    /// Questions about the video or a scene → pegasus + gemini; "describe"/"explain" → gpt4o + pegasus;
    /// anything else → gemini + pegasus.
    public static let `default` = RecommendationTable(
        rules: [
            Rule(keywords: ["video", "scene", "clip", "footage"], models: ["pegasus", "gemini"]),
            Rule(keywords: ["describe", "explain"], models: ["gpt4o", "pegasus"]),
        ],
        fallback: ["gemini", "pegasus"]
    )

    public func recommend(for query: String) -> [String] {
        let words = Set(RecommendationTable.words(in: query))
        for rule in rules where rule.keywords.contains(where: { words.contains($0) || words.contains($0 + "s") }) {
            return rule.models
        }
        return fallback
    }

    static func words(in query: String) -> [String] {
        query.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }
}
