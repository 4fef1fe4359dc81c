public import ChorusCore

/// The registry `chorusd` serves when no registry file is given: `gemini`, `gpt4o` and `pegasus`.
///
/// Each is the real provider when its key variable is set (`GEMINI_API_KEY` → Gemini
/// `gemini-3.5-flash`, `OPENAI_API_KEY` → OpenAI `gpt-4o`, `TWELVELABS_API_KEY` → TwelveLabs
/// `pegasus1.2`; base URLs from `GEMINI_BASE_URL`, `OPENAI_BASE_URL`, `TWELVELABS_BASE_URL`), and an
/// offline demo stand-in otherwise, with these latency profiles:
///
/// | Model | First chunk | Chunk rate | Words per chunk | Answer | Full answer |
/// | --- | --- | --- | --- | --- | --- |
/// | gemini | 0.35 s | ~33/s | 1–2 | 110–150 words | ~3 s |
/// | gpt4o | 0.6 s | ~45/s | 1 | 120–160 words | ~3.6 s |
/// | pegasus | 0.9 s | 25/s | 1–2 | 100–140 words | ~4 s |
///
/// ```swift
/// let registry = BuiltInRegistry.make(context: ProviderContext(logger: logger))   // real where keys are set
/// let orchestrator = Orchestrator(registry: registry, logger: logger)
/// ```
public enum BuiltInRegistry {
    /// Per-model clocks of the built-in models: generous next to the profiles above.
    static let timeouts = (firstChunk: Duration.seconds(10), idle: Duration.seconds(5), total: Duration.seconds(60))

    /// The demo profiles by model name.
    public static let profiles: [String: DemoProfile] = [
        "gemini": DemoProfile(
            firstChunkDelay: .milliseconds(350), chunkInterval: .milliseconds(30), answerWords: 110...150,
            wordsPerChunk: 1...2
        ),
        "gpt4o": DemoProfile(
            firstChunkDelay: .milliseconds(600), chunkInterval: .milliseconds(22), answerWords: 120...160,
            wordsPerChunk: 1...1
        ),
        "pegasus": DemoProfile(
            firstChunkDelay: .milliseconds(900), chunkInterval: .milliseconds(40), answerWords: 100...140,
            wordsPerChunk: 1...2
        ),
    ]

    /// The real provider behind each built-in model name.
    static let upstreams: [String: UpstreamProvider] = ["gemini": .gemini, "gpt4o": .openAI, "pegasus": .twelveLabs]

    /// Builds the built-in registry: a model is real when `context.environment` holds its key, demo otherwise.
    ///
    /// - Throws: ``RegistryConfigurationError`` when an environment variable is unusable (e.g. a
    ///   `OPENAI_BASE_URL` that is not an http(s) URL).
    public static func make(context: ProviderContext) throws(RegistryConfigurationError) -> ModelRegistry {
        let demo = make(observer: context.observer)
        let configuration = RegistryConfiguration(
            models: demo.entries.map { RegistryConfiguration.Model(name: $0.name, provider: upstreams[$0.name]?.rawValue ?? "demo") })
        let video = RegistryLoader.videoInputs(configuration, context: context)
        var entries: [ModelRegistry.Entry] = []
        for entry in demo.entries {
            guard let kind = upstreams[entry.name], let variable = kind.defaultKeyVariable,
                let key = context.environment[variable], !key.isEmpty
            else {
                entries.append(entry)
                continue
            }
            let built = try RegistryLoader.makeUpstreamProvider(
                RegistryConfiguration.Model(name: entry.name, provider: kind.rawValue), kind: kind,
                field: "built-in model \(entry.name)", context: context, video: video
            ) { field, reason in
                RegistryConfigurationError(path: "environment", field: field, reason: reason)
            }
            var settings = entry.settings
            settings.demo = false
            settings.available = built.available
            settings.upstreamModel = built.upstreamModel
            // Real models get the registry's standard clocks: upstream first chunks can take a while.
            settings.firstChunkTimeout = .seconds(30)
            settings.idleTimeout = .seconds(30)
            settings.totalTimeout = .seconds(300)
            settings.description = "\(kind.displayName) \(built.upstreamModel) (key from \(variable))"
            entries.append(ModelRegistry.Entry(name: entry.name, provider: built.provider, settings: settings))
        }
        do {
            return try ModelRegistry(entries: entries, recommendations: .default)
        } catch {
            preconditionFailure("the built-in registry is invalid: \(error)")
        }
    }

    /// Builds the all-demo built-in registry with ``ChorusCore/RecommendationTable/default``.
    ///
    /// - Parameter observer: receives every demo provider's start/complete/cancel/fail reports (for tests).
    public static func make(observer: DemoObserver? = nil) -> ModelRegistry {
        let models: [(name: String, upstream: String, description: String)] = [
            (
                "gemini", "gemini-3.5-flash",
                "Demo stand-in for Google Gemini: offline, deterministic answers with Gemini-like latency; no API key needed"
            ),
            (
                "gpt4o", "gpt-4o",
                "Demo stand-in for OpenAI GPT-4o (video sent as frames): offline, deterministic answers; no API key needed"
            ),
            (
                "pegasus", "pegasus1.2",
                "Demo stand-in for TwelveLabs Pegasus video analysis: offline, deterministic answers; no API key needed"
            ),
        ]
        let entries = models.map { model in
            ModelRegistry.Entry(
                name: model.name,
                provider: DemoProvider(profile: profiles[model.name] ?? DemoProfile(), observer: observer),
                settings: ModelSettings(
                    firstChunkTimeout: timeouts.firstChunk, idleTimeout: timeouts.idle, totalTimeout: timeouts.total,
                    demo: true, available: true, upstreamModel: model.upstream, description: model.description
                )
            )
        }
        do {
            return try ModelRegistry(entries: entries, recommendations: .default)
        } catch {
            // The entries above are constants; failing here is a programming error caught by the tests.
            preconditionFailure("the built-in registry is invalid: \(error)")
        }
    }
}
