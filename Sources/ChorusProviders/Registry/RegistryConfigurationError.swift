/// A registry file that cannot be used, with the file and the field at fault.
///
/// `description` reads `path: field: reason`, e.g.
/// `/etc/chorus/registry.json: models[1].provider: unknown provider 'openai' for model 'gpt4o'; supported: demo`.
public struct RegistryConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file (or other source) the configuration came from.
    public var path: String
    /// The offending field as a JSON path (`models[1].timeouts.idle_ms`), nil for whole-file problems.
    public var field: String?
    public var reason: String

    public init(path: String, field: String?, reason: String) {
        self.path = path
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(path): \(field): \(reason)" }
        return "\(path): \(reason)"
    }

    /// Formats a coding path as `models[1].timeouts.idle_ms`.
    static func field(_ path: [any CodingKey]) -> String? {
        var field = ""
        for key in path {
            if let index = key.intValue {
                field += "[\(index)]"
            } else {
                field += field.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return field.isEmpty ? nil : field
    }

    /// Translates a decoder error into the file's vocabulary (JSON field paths, no Swift type names).
    init(path: String, decodingError error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: path, field: Self.field(context.codingPath + [key]), reason: "missing required field")
        case .valueNotFound(_, let context):
            self.init(path: path, field: Self.field(context.codingPath), reason: "must not be null")
        case .typeMismatch(let type, let context):
            self.init(path: path, field: Self.field(context.codingPath), reason: "expected \(Self.jsonName(of: type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let detail = context.underlyingError.map { String(describing: $0) } ?? context.debugDescription
                self.init(path: path, field: nil, reason: "not valid JSON: \(detail)")
            } else {
                self.init(path: path, field: Self.field(context.codingPath), reason: context.debugDescription)
            }
        @unknown default:
            self.init(path: path, field: nil, reason: String(describing: error))
        }
    }

    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is [Any].Type: return "an array"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Array")
                ? "an array" : name.hasPrefix("Dictionary") ? "an object" : "an object (\(name))"
        }
    }
}
