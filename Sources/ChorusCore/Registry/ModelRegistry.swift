/// The models a server can run: name → provider + settings, plus the recommendation table.
///
/// ```swift
/// let registry = try ModelRegistry(entries: [
///     ModelRegistry.Entry(name: "gemini", provider: DemoProvider(...), settings: .init(demo: true)),
/// ])
/// ```
public struct ModelRegistry: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var provider: any ModelProvider
        public var settings: ModelSettings

        public init(name: String, provider: any ModelProvider, settings: ModelSettings) {
            self.name = name
            self.provider = provider
            self.settings = settings
        }

        public var info: ModelInfo {
            ModelInfo(
                name: name,
                provider: provider.kind,
                demo: settings.demo,
                available: settings.available,
                upstreamModel: settings.upstreamModel,
                description: settings.description
            )
        }
    }

    /// Entries in a stable order (sorted by name).
    public let entries: [Entry]
    public let recommendations: RecommendationTable
    private let byName: [String: Int]

    public init(entries: [Entry], recommendations: RecommendationTable = .default) throws {
        var byName: [String: Int] = [:]
        let sorted = entries.sorted { $0.name < $1.name }
        for (index, entry) in sorted.enumerated() {
            guard ModelRegistry.isValidName(entry.name) else {
                throw ChorusError(.invalidArgument, "invalid model name '\(entry.name)': use lowercase letters, digits, '-', '_' or '.'")
            }
            guard byName.updateValue(index, forKey: entry.name) == nil else {
                throw ChorusError(.alreadyExists, "model '\(entry.name)' is defined twice in the registry")
            }
        }
        for rule in recommendations.rules + [RecommendationTable.Rule(keywords: [], models: recommendations.fallback)] {
            for model in rule.models where byName[model] == nil {
                throw ChorusError(.invalidArgument, "recommendation table names unknown model '\(model)'")
            }
        }
        self.entries = sorted
        self.byName = byName
        self.recommendations = recommendations
    }

    public subscript(name: String) -> Entry? {
        byName[name].map { entries[$0] }
    }

    /// Registry names in sorted order.
    public var names: [String] { entries.map(\.name) }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        }
    }
}

/// Per-model defaults from the registry.
public struct ModelSettings: Sendable, Hashable {
    /// Longest wait for the first chunk.
    public var firstChunkTimeout: Duration
    /// Longest gap between two chunks.
    public var idleTimeout: Duration
    /// Longest total time for the model's answer.
    public var totalTimeout: Duration
    /// True for the offline demo provider.
    public var demo: Bool
    /// False when the model cannot be used (reported by ListModels; calls get an error event).
    public var available: Bool
    /// Why the model cannot be used when ``available`` is false, e.g. `set OPENAI_API_KEY`.
    public var unavailableReason: String?
    public var upstreamModel: String
    public var description: String

    public init(
        firstChunkTimeout: Duration = .seconds(30),
        idleTimeout: Duration = .seconds(30),
        totalTimeout: Duration = .seconds(300),
        demo: Bool = false,
        available: Bool = true,
        unavailableReason: String? = nil,
        upstreamModel: String = "",
        description: String = ""
    ) {
        self.unavailableReason = unavailableReason
        self.firstChunkTimeout = firstChunkTimeout
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
        self.demo = demo
        self.available = available
        self.upstreamModel = upstreamModel
        self.description = description
    }
}
