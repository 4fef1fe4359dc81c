import ChorusCore
import ChorusCurl
import ChorusMedia
import Logging

/// Building the real providers (`openai`, `openai-compatible`, `gemini`, `twelvelabs`) of a registry.
extension RegistryLoader {
    /// A provider and what the registry reports about it.
    struct BuiltProvider {
        var provider: any ModelProvider
        var available: Bool
        var unavailableReason: String?
        var upstreamModel: String
    }

    /// The video access every adapter of one registry shares (one frame cache, one download cache).
    static func videoInputs(
        _ configuration: RegistryConfiguration, context: ProviderContext
    ) -> VideoInputs {
        // TwelveLabs retrieval uses the first `twelvelabs` model's endpoint and key when the file
        // defines one, else TWELVELABS_API_KEY / TWELVELABS_BASE_URL from the environment.
        let model = configuration.models.first { $0.provider == UpstreamProvider.twelveLabs.rawValue }
        let variable = model?.apiKeyEnv ?? UpstreamProvider.twelveLabs.defaultKeyVariable
        let key = try? APIKey.load(variable: variable, file: model?.apiKeyFile, environment: context.environment)
        var locator: (any TwelveLabsVideoLocating)?
        if let key {
            let settings = UpstreamSettings(
                provider: .twelveLabs, baseURL: baseURL(model?.baseURL, .twelveLabs, context) ?? "",
                upstreamModel: model?.upstreamModel ?? UpstreamProvider.twelveLabs.defaultUpstreamModel ?? "",
                apiKey: key, keyVariable: variable, http: context.http)
            locator = TwelveLabsVideoLocator(settings: settings, logger: context.logger)
        }
        return VideoInputs(mediaRoot: context.mediaRoot, library: context.videoLibrary, locator: locator)
    }

    static func baseURL(_ configured: String?, _ kind: UpstreamProvider, _ context: ProviderContext) -> String? {
        if let configured { return configured }
        if let variable = kind.baseURLVariable, let value = context.environment[variable], !value.isEmpty { return value }
        return kind.defaultBaseURL
    }

    static func makeUpstreamProvider(
        _ model: RegistryConfiguration.Model, kind: UpstreamProvider, field: String, context: ProviderContext,
        video: VideoInputs, fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> BuiltProvider {
        if model.demo != nil { throw fail("\(field).demo", "only models with provider 'demo' take a demo block") }
        if model.video != nil, kind != .openAI, kind != .openAICompatible {
            throw fail("\(field).video", "frame sampling applies to providers 'openai' and 'openai-compatible' only")
        }
        if model.files != nil, kind != .gemini, kind != .twelveLabs {
            throw fail("\(field).files", "upload settings apply to providers 'gemini' (Files API) and 'twelvelabs' (assets) only")
        }

        guard let base = baseURL(model.baseURL, kind, context) else {
            throw fail(
                "\(field).base_url",
                "provider '\(kind.rawValue)' needs base_url, e.g. http://127.0.0.1:11434/v1 (Ollama) or http://127.0.0.1:8000/v1 (vLLM)")
        }
        let baseSource = model.baseURL != nil ? "\(field).base_url" : (kind.baseURLVariable ?? "\(field).base_url")
        guard isHTTPURL(base) else {
            throw fail(baseSource, "must be an http:// or https:// URL including the API version path, got '\(base)'")
        }
        guard let upstreamModel = model.upstreamModel ?? kind.defaultUpstreamModel, !upstreamModel.isEmpty else {
            throw fail("\(field).upstream_model", "provider '\(kind.rawValue)' needs upstream_model (the server's model id)")
        }

        let keyVariable = model.apiKeyEnv ?? kind.defaultKeyVariable
        let key: APIKey?
        do {
            key = try APIKey.load(variable: keyVariable, file: model.apiKeyFile, environment: context.environment)
        } catch {
            throw fail("\(field).api_key_file", error.message)
        }

        let connectTimeout = try timeout(model.timeouts?.connectMs, "\(field).timeouts.connect_ms", fail) ?? .seconds(10)
        let retry = try retryPolicy(model.retry, field: "\(field).retry", fail: fail)
        var limiter: ConcurrencyLimiter?
        if let limit = model.maxConcurrent {
            guard limit >= 1 else { throw fail("\(field).max_concurrent", "must be 1 or more, got \(limit)") }
            limiter = ConcurrencyLimiter(limit: limit)
        }
        let settings = UpstreamSettings(
            provider: kind, baseURL: base, upstreamModel: upstreamModel, apiKey: key, keyVariable: keyVariable,
            connectTimeout: connectTimeout, retry: retry, limiter: limiter, http: context.http)

        let provider: any ModelProvider
        switch kind {
        case .openAI, .openAICompatible:
            provider = OpenAIProvider(
                settings: settings, video: video, frames: try frameSampling(model.video, field: "\(field).video", fail: fail),
                logger: context.logger)
        case .gemini:
            provider = GeminiProvider(
                settings: settings, video: video, files: try fileOptions(model.files, field: "\(field).files", fail: fail),
                uploads: context.uploads, name: model.name, logger: context.logger)
        case .twelveLabs:
            // An asset stays until deleted, so TwelveLabs deletes after an hour unused by default.
            let files = try fileOptions(
                model.files, keepUnused: TwelveLabsAssetOptions.defaultKeepUnused, field: "\(field).files", fail: fail)
            let assets = TwelveLabsAssetOptions(
                pollInterval: files.pollInterval, maxProcessingWait: files.maxProcessingWait,
                keepUnused: files.keepUnused, deleteOnExit: files.deleteOnExit)
            provider = TwelveLabsProvider(
                settings: settings, video: video, assets: assets, uploads: context.uploads, name: model.name, logger: context.logger)
        }

        var available = model.available ?? true
        var reason: String?
        if kind.requiresKey && key == nil {
            available = false
            reason = "no \(kind.displayName) API key; set \(keyVariable ?? "api_key_env") on the server"
        }
        return BuiltProvider(provider: provider, available: available, unavailableReason: reason, upstreamModel: upstreamModel)
    }

    static func isHTTPURL(_ text: String) -> Bool {
        for scheme in ["http://", "https://"] where text.lowercased().hasPrefix(scheme) {
            return text.count > scheme.count && !text.contains(" ")
        }
        return false
    }

    private static func retryPolicy(
        _ retry: RegistryConfiguration.Retry?, field: String, fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> RetryPolicy {
        let defaults = RetryPolicy()
        guard let retry else { return defaults }
        if let attempts = retry.maxAttempts, !(1...10).contains(attempts) {
            throw fail("\(field).max_attempts", "must be between 1 and 10, got \(attempts)")
        }
        func ms(_ value: Int?, _ name: String) throws(RegistryConfigurationError) -> Duration? {
            guard let value else { return nil }
            guard value >= 0 else { throw fail("\(field).\(name)", "must be 0 or more milliseconds, got \(value)") }
            return .milliseconds(value)
        }
        return RetryPolicy(
            maxAttempts: retry.maxAttempts ?? defaults.maxAttempts,
            initialBackoff: try ms(retry.initialBackoffMs, "initial_backoff_ms") ?? defaults.initialBackoff,
            maxBackoff: try ms(retry.maxBackoffMs, "max_backoff_ms") ?? defaults.maxBackoff,
            maxRetryAfter: try ms(retry.maxRetryAfterMs, "max_retry_after_ms") ?? defaults.maxRetryAfter)
    }

    private static func frameSampling(
        _ video: RegistryConfiguration.Video?, field: String, fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> FrameSampling {
        var sampling = FrameSampling()
        guard let video else { return sampling }
        if let frames = video.frames {
            guard (1...64).contains(frames) else { throw fail("\(field).frames", "must be between 1 and 64, got \(frames)") }
            sampling.count = frames
        }
        if let width = video.maxWidth {
            guard (64...2048).contains(width) else {
                throw fail("\(field).max_width", "must be between 64 and 2048 pixels, got \(width)")
            }
            sampling.maxWidth = width
        }
        if let detail = video.detail {
            guard ["low", "high", "auto"].contains(detail) else {
                throw fail("\(field).detail", "must be low, high or auto, got '\(detail)'")
            }
            sampling.detail = detail
        }
        return sampling
    }

    /// The `files` block over the defaults; `keepUnused` is the provider's default for `keep_unused_ms`.
    private static func fileOptions(
        _ files: RegistryConfiguration.Files?, keepUnused: Duration? = nil, field: String,
        fail: (String?, String) -> RegistryConfigurationError
    ) throws(RegistryConfigurationError) -> GeminiFileOptions {
        var options = GeminiFileOptions(keepUnused: keepUnused)
        guard let files else { return options }
        if let interval = files.pollIntervalMs {
            guard interval > 0 else { throw fail("\(field).poll_interval_ms", "must be positive, got \(interval)") }
            options.pollInterval = .milliseconds(interval)
        }
        if let wait = files.maxProcessingMs {
            guard wait > 0 else { throw fail("\(field).max_processing_ms", "must be positive, got \(wait)") }
            options.maxProcessingWait = .milliseconds(wait)
        }
        if let keep = files.keepUnusedMs {
            guard keep >= 0 else { throw fail("\(field).keep_unused_ms", "must be 0 (keep until the server stops) or more, got \(keep)") }
            options.keepUnused = keep == 0 ? nil : .milliseconds(keep)
        }
        if let deleteOnExit = files.deleteOnExit { options.deleteOnExit = deleteOnExit }
        return options
    }
}
