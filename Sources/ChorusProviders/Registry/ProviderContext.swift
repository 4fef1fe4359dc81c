public import ChorusCurl
public import ChorusMedia
import Foundation
public import Logging

/// What the registry loader needs besides the file to build real providers: the environment
/// (keys and base URLs), the media root, and the shared HTTP client, video library and logger.
///
/// ```swift
/// let context = ProviderContext(mediaRoot: try MediaRoot(path: "/srv/videos"), logger: logger)
/// let registry = try RegistryLoader.load(path: "registry.json", context: context)
/// ```
public struct ProviderContext: Sendable {
    /// Where API keys (`OPENAI_API_KEY`, …) and base URLs (`OPENAI_BASE_URL`, …) are read from.
    public var environment: [String: String]
    /// The directory `video_path` is resolved in; nil refuses `video_path`.
    public var mediaRoot: MediaRoot?
    /// One connection pool for every upstream request of the server.
    public var http: CurlHTTPClient
    /// Frame samples and downloaded videos, shared by every model.
    public var videoLibrary: VideoLibrary
    public var logger: Logger
    /// Passed to every demo provider (for tests).
    public var observer: DemoObserver?
    /// Deletes what the adapters built with this context upload (TwelveLabs assets, Gemini files): run its sweeps
    /// while serving and ``UploadJanitor/deleteAll(within:)`` after the last call.
    public var uploads: UploadJanitor

    public init(
        environment: [String: String]? = nil, mediaRoot: MediaRoot? = nil, http: CurlHTTPClient = CurlHTTPClient(),
        videoLibrary: VideoLibrary? = nil, logger: Logger = Logger(label: "chorus.providers"),
        observer: DemoObserver? = nil
    ) {
        self.environment = environment ?? ProcessInfo.processInfo.environment
        self.mediaRoot = mediaRoot
        self.http = http
        self.videoLibrary = videoLibrary ?? VideoLibrary(logger: logger)
        self.logger = logger
        self.observer = observer
        self.uploads = UploadJanitor(logger: logger)
    }
}

extension UpstreamProvider {
    /// The environment variable that overrides the default base URL, as the official SDKs read it.
    public var baseURLVariable: String? {
        switch self {
        case .openAI: return "OPENAI_BASE_URL"
        case .openAICompatible: return nil
        case .gemini: return "GEMINI_BASE_URL"
        case .twelveLabs: return "TWELVELABS_BASE_URL"
        }
    }

    /// The public endpoint, including the API version path.
    public var defaultBaseURL: String? {
        switch self {
        case .openAI: return "https://api.openai.com/v1"
        case .openAICompatible: return nil
        case .gemini: return "https://generativelanguage.googleapis.com/v1beta"
        case .twelveLabs: return "https://api.twelvelabs.io/v1.3"
        }
    }

    /// The variable holding the key unless the registry names another.
    public var defaultKeyVariable: String? {
        switch self {
        case .openAI: return "OPENAI_API_KEY"
        case .openAICompatible: return nil
        case .gemini: return "GEMINI_API_KEY"
        case .twelveLabs: return "TWELVELABS_API_KEY"
        }
    }

    /// The upstream model used when the registry names none (model ids change every few months:
    /// set `upstream_model` in a registry file to pin one).
    public var defaultUpstreamModel: String? {
        switch self {
        case .openAI: return "gpt-4o"
        case .openAICompatible: return nil
        case .gemini: return "gemini-3.5-flash"
        case .twelveLabs: return "pegasus1.2"
        }
    }

    /// True when the provider cannot work without a key.
    var requiresKey: Bool { self != .openAICompatible }
}
