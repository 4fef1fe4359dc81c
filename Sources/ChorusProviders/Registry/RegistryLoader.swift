public import ChorusCore
public import Foundation

/// Turns a registry file (``RegistryConfiguration``) into a ``ChorusCore/ModelRegistry``.
///
/// Every problem is reported as a ``RegistryConfigurationError`` naming the file and the field, so an
/// operator can fix the file without reading code.
///
/// ```swift
/// let context = ProviderContext(mediaRoot: try MediaRoot(path: "/srv/videos"), logger: logger)
/// let registry = try RegistryLoader.load(path: "/etc/chorus/registry.json", context: context)
/// let orchestrator = Orchestrator(registry: registry, logger: logger)
/// ```
public enum RegistryLoader {
    /// Provider kinds a registry file may use.
    public static let supportedProviders = ["demo"] + UpstreamProvider.allCases.map(\.rawValue)

    /// Reads, decodes and validates the JSON registry file at `path`.
    ///
    /// - Parameter context: the environment (keys, base URLs), media root and shared clients.
    public static func load(
        path: String, context: ProviderContext = ProviderContext()
    ) throws(RegistryConfigurationError) -> ModelRegistry {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RegistryConfigurationError(
                path: path, field: nil, reason: "cannot read the file: \(error.localizedDescription)")
        }
        return try load(data: data, source: path, context: context)
    }

    /// Decodes and validates registry JSON; `source` names it in error messages.
    public static func load(
        data: Data, source: String, context: ProviderContext = ProviderContext()
    ) throws(RegistryConfigurationError) -> ModelRegistry {
        let configuration: RegistryConfiguration
        do {
            configuration = try JSONDecoder().decode(RegistryConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw RegistryConfigurationError(path: source, decodingError: error)
        } catch {
            throw RegistryConfigurationError(path: source, field: nil, reason: "not valid JSON: \(error)")
        }
        return try makeRegistry(configuration, source: source, context: context)
    }

    /// Validates a decoded configuration and builds the registry.
    public static func makeRegistry(
        _ configuration: RegistryConfiguration, source: String, context: ProviderContext = ProviderContext()
    ) throws(RegistryConfigurationError) -> ModelRegistry {
        func fail(_ field: String?, _ reason: String) -> RegistryConfigurationError {
            RegistryConfigurationError(path: source, field: field, reason: reason)
        }
        guard !configuration.models.isEmpty else { throw fail("models", "must list at least one model") }

        let video = videoInputs(configuration, context: context)
        var entries: [ModelRegistry.Entry] = []
        var firstIndex: [String: Int] = [:]
        for (index, model) in configuration.models.enumerated() {
            let field = "models[\(index)]"
            guard isValidName(model.name) else {
                throw fail(
                    "\(field).name",
                    "invalid model name '\(model.name)': use 1–64 lowercase letters, digits, '-', '_' or '.'")
            }
            if let first = firstIndex[model.name] {
                throw fail("\(field).name", "model '\(model.name)' is already defined at models[\(first)]")
            }
            firstIndex[model.name] = index
            let built = try makeProvider(model, field: field, context: context, video: video, fail: fail)
            let settings = ModelSettings(
                firstChunkTimeout: try timeout(model.timeouts?.firstChunkMs, "\(field).timeouts.first_chunk_ms", fail)
                    ?? .seconds(30),
                idleTimeout: try timeout(model.timeouts?.idleMs, "\(field).timeouts.idle_ms", fail) ?? .seconds(30),
                totalTimeout: try timeout(model.timeouts?.totalMs, "\(field).timeouts.total_ms", fail) ?? .seconds(300),
                demo: model.provider == "demo",
                available: built.available,
                unavailableReason: built.unavailableReason,
                upstreamModel: built.upstreamModel,
                description: model.description ?? ""
            )
            entries.append(ModelRegistry.Entry(name: model.name, provider: built.provider, settings: settings))
        }

        let names = Set(firstIndex.keys)
        let table = try recommendations(configuration.recommendations, names: names, fail: fail)
        do {
            return try ModelRegistry(entries: entries, recommendations: table)
        } catch {
            // Everything ModelRegistry checks was checked above with a field path; this is a safety net.
            throw fail(nil, ChorusError(from: error).message)
        }
    }

    private static func makeProvider(
        _ model: RegistryConfiguration.Model, field: String, context: ProviderContext, video: VideoInputs,
        fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> BuiltProvider {
        if let kind = UpstreamProvider(rawValue: model.provider) {
            return try makeUpstreamProvider(model, kind: kind, field: field, context: context, video: video, fail: fail)
        }
        switch model.provider {
        case "demo":
            for (value, name) in [
                (model.baseURL != nil, "base_url"), (model.apiKeyEnv != nil, "api_key_env"),
                (model.apiKeyFile != nil, "api_key_file"), (model.retry != nil, "retry"),
                (model.maxConcurrent != nil, "max_concurrent"), (model.video != nil, "video"), (model.files != nil, "files"),
                (model.timeouts?.connectMs != nil, "timeouts.connect_ms"),
            ] where value {
                throw fail("\(field).\(name)", "does not apply to provider 'demo' (it makes no upstream requests)")
            }
            let profile = try demoProfile(model.demo ?? .init(), field: "\(field).demo", fail: fail)
            return BuiltProvider(
                provider: DemoProvider(profile: profile, observer: context.observer), available: model.available ?? true,
                unavailableReason: nil, upstreamModel: model.upstreamModel ?? "")
        default:
            throw fail(
                "\(field).provider",
                "unknown provider '\(model.provider)' for model '\(model.name)'; supported: \(supportedProviders.joined(separator: ", "))"
            )
        }
    }

    private static func demoProfile(
        _ demo: RegistryConfiguration.Demo, field: String, fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> DemoProfile {
        let defaults = DemoProfile()
        func delay(_ ms: Int?, _ name: String) throws(RegistryConfigurationError) -> Duration? {
            guard let ms else { return nil }
            guard ms >= 0 else { throw fail("\(field).\(name)", "must be 0 or more milliseconds, got \(ms)") }
            return .milliseconds(ms)
        }
        func range(
            _ value: RegistryConfiguration.WordRange?, _ name: String
        ) throws(RegistryConfigurationError) -> ClosedRange<Int>? {
            guard let value else { return nil }
            guard value.min >= 1, value.min <= value.max else {
                throw fail("\(field).\(name)", "needs 1 ≤ min ≤ max, got [\(value.min), \(value.max)]")
            }
            return value.min...value.max
        }
        func count(_ value: Int?, _ name: String) throws(RegistryConfigurationError) -> Int? {
            guard let value else { return nil }
            guard value >= 0 else { throw fail("\(field).\(name)", "must be a chunk count of 0 or more, got \(value)") }
            return value
        }

        var failure: DemoProfile.Failure?
        if let injected = demo.fail {
            var code = ChorusError.Code.internal
            if let name = injected.code {
                guard let parsed = ChorusError.Code(name: name) else {
                    throw fail("\(field).fail.code", "unknown status code '\(name)'; use a name such as UNAVAILABLE")
                }
                code = parsed
            }
            failure = DemoProfile.Failure(
                afterChunks: try count(injected.afterChunks, "fail.after_chunks") ?? 0,
                error: ChorusError(code, injected.message ?? "demo failure configured in the registry")
            )
        }
        return DemoProfile(
            firstChunkDelay: try delay(demo.firstChunkDelayMs, "first_chunk_delay_ms") ?? defaults.firstChunkDelay,
            chunkInterval: try delay(demo.chunkIntervalMs, "chunk_interval_ms") ?? defaults.chunkInterval,
            answerWords: try range(demo.answerWords, "answer_words") ?? defaults.answerWords,
            wordsPerChunk: try range(demo.wordsPerChunk, "words_per_chunk") ?? defaults.wordsPerChunk,
            failure: failure,
            stallAfterChunks: try count(demo.stallAfterChunks, "stall_after_chunks"),
            cutoffAfterChunks: try count(demo.cutoffAfterChunks, "cutoff_after_chunks")
        )
    }

    static func timeout(
        _ ms: Int?, _ field: String, _ fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> Duration? {
        guard let ms else { return nil }
        guard ms > 0 else { throw fail(field, "must be a positive number of milliseconds, got \(ms)") }
        return .milliseconds(ms)
    }

    private static func recommendations(
        _ recommendations: RegistryConfiguration.Recommendations?, names: Set<String>,
        fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> RecommendationTable {
        let known = names.sorted().joined(separator: ", ")
        guard let recommendations else {
            let builtIn = RecommendationTable.default
            let named = builtIn.fallback + builtIn.rules.flatMap(\.models)
            return named.allSatisfy(names.contains) ? builtIn : RecommendationTable(rules: [], fallback: names.sorted())
        }
        func check(_ models: [String], _ field: String) throws(RegistryConfigurationError) {
            guard !models.isEmpty else { throw fail(field, "must name at least one model") }
            for (index, model) in models.enumerated() where !names.contains(model) {
                throw fail("\(field)[\(index)]", "unknown model '\(model)'; defined: \(known)")
            }
        }
        var rules: [RecommendationTable.Rule] = []
        for (index, rule) in (recommendations.rules ?? []).enumerated() {
            let field = "recommendations.rules[\(index)]"
            guard !rule.keywords.isEmpty else { throw fail("\(field).keywords", "must list at least one keyword") }
            try check(rule.models, "\(field).models")
            rules.append(RecommendationTable.Rule(keywords: rule.keywords, models: rule.models))
        }
        try check(recommendations.fallback, "recommendations.fallback")
        return RecommendationTable(rules: rules, fallback: recommendations.fallback)
    }

    /// Mirrors ``ChorusCore/ModelRegistry``'s rule so the error can name the field.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
            }
    }
}
