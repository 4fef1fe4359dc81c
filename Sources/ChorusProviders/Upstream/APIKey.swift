public import ChorusCore
import Foundation

/// An upstream API key, read from the environment or a secret file, that never prints itself.
///
/// `description` and string interpolation give `<redacted>`; only ``headerValue`` exposes the
/// secret, and only the adapters call it when building a request. ``redact(_:)`` removes the key
/// from any text that might echo it back (an upstream error message quoting the request).
///
/// ```swift
/// let key = try APIKey.load(variable: "OPENAI_API_KEY", file: nil)   // nil when unset
/// ```
public struct APIKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Where the key came from, e.g. `OPENAI_API_KEY` or `file /run/secrets/openai`; safe to log.
    public let source: String
    private let secret: String

    public init(_ secret: String, source: String) {
        self.secret = secret
        self.source = source
    }

    /// The secret itself, for a request header.
    public var headerValue: String { secret }

    public var description: String { "<redacted key from \(source)>" }
    public var debugDescription: String { description }

    /// `text` with every occurrence of the key replaced by `<redacted>`.
    public func redact(_ text: String) -> String {
        guard secret.count >= 4 else { return text }
        return text.replacingOccurrences(of: secret, with: "<redacted>")
    }

    /// Reads a key: from `file` when given (trailing newline trimmed), else from the environment
    /// variable `variable`. Returns nil when the variable is unset or empty.
    ///
    /// - Throws: ``ChorusError`` (`FAILED_PRECONDITION`) when the file cannot be read or is empty.
    public static func load(
        variable: String?, file: String?, environment: [String: String]? = nil
    ) throws(ChorusError) -> APIKey? {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if let file {
            guard let data = FileManager.default.contents(atPath: file),
                let text = String(data: data, encoding: .utf8)
            else {
                throw ChorusError(.failedPrecondition, "cannot read the API key file \(file)")
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw ChorusError(.failedPrecondition, "the API key file \(file) is empty") }
            return APIKey(trimmed, source: "file \(file)")
        }
        guard let variable, let value = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines),
            !value.isEmpty
        else { return nil }
        return APIKey(value, source: variable)
    }
}
