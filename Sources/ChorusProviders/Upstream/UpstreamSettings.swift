public import ChorusCore
public import ChorusCurl
import Foundation

/// How one model reaches its upstream API: where, as which upstream model, with which key, and
/// under which limits. Built by the registry loader from the registry file and the environment.
///
/// ```swift
/// let settings = UpstreamSettings(
///     provider: .openAI, baseURL: "https://api.openai.com/v1", upstreamModel: "gpt-4o",
///     apiKey: try APIKey.load(variable: "OPENAI_API_KEY", file: nil), keyVariable: "OPENAI_API_KEY")
/// ```
public struct UpstreamSettings: Sendable {
    /// The upstream API family; names it in error messages.
    public var provider: UpstreamProvider
    /// Includes the API version path, e.g. `https://api.openai.com/v1`; the adapter appends the rest.
    public var baseURL: String
    /// The provider's model id, e.g. `gpt-4o`, `gemini-2.5-flash`, `pegasus1.2`.
    public var upstreamModel: String
    public var apiKey: APIKey?
    /// The variable an operator sets to supply the key; named in authentication error hints.
    public var keyVariable: String?
    public var connectTimeout: Duration
    public var retry: RetryPolicy
    /// Shared by every call of this model; nil means unlimited.
    public var limiter: ConcurrencyLimiter?
    public var http: CurlHTTPClient

    public init(
        provider: UpstreamProvider, baseURL: String, upstreamModel: String, apiKey: APIKey?, keyVariable: String?,
        connectTimeout: Duration = .seconds(10), retry: RetryPolicy = RetryPolicy(),
        limiter: ConcurrencyLimiter? = nil, http: CurlHTTPClient = CurlHTTPClient()
    ) {
        self.provider = provider
        self.baseURL = baseURL
        self.upstreamModel = upstreamModel
        self.apiKey = apiKey
        self.keyVariable = keyVariable
        self.connectTimeout = connectTimeout
        self.retry = retry
        self.limiter = limiter
        self.http = http
    }

    /// `baseURL` joined with `path` by exactly one `/`.
    public func url(_ path: String) -> String {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        return path.hasPrefix("/") ? base + path : base + "/" + path
    }

    /// Scheme, host and port of `baseURL` (e.g. `https://generativelanguage.googleapis.com`).
    public var origin: String {
        guard let schemeEnd = baseURL.range(of: "://") else { return baseURL }
        let rest = baseURL[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        return String(baseURL[..<hostEnd])
    }

    /// The key, or an `UNAUTHENTICATED` error naming the variable to set.
    public func requireKey() throws(ChorusError) -> APIKey {
        guard let apiKey else {
            let variable = keyVariable.map { "set \($0)" } ?? "configure an API key"
            throw ChorusError(.unauthenticated, "no API key for \(provider.displayName): \(variable)")
        }
        return apiKey
    }
}

/// The upstream API families Chorus speaks.
public enum UpstreamProvider: String, Sendable, Hashable, CaseIterable {
    case openAI = "openai"
    case openAICompatible = "openai-compatible"
    case gemini = "gemini"
    case twelveLabs = "twelvelabs"

    /// Human name for messages: `OpenAI`, `Gemini`, `TwelveLabs`, `the OpenAI-compatible server`.
    public var displayName: String {
        switch self {
        case .openAI: return "OpenAI"
        case .openAICompatible: return "the OpenAI-compatible server"
        case .gemini: return "Gemini"
        case .twelveLabs: return "TwelveLabs"
        }
    }
}
