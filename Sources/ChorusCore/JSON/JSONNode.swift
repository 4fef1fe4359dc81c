/// A parsed JSON document: a small value tree read straight from UTF-8 bytes.
///
/// Providers parse one JSON object per streamed chunk; `JSONSerialization` (boxing every value
/// into `NSDictionary`/`NSNumber` and casting back) was the largest single cost of a chunk on
/// the first-token path. ``JSONNode/parse(_:maxDepth:)`` is strict RFC 8259 (no trailing
/// commas, comments or NaN; `\u` escapes with surrogate pairs; invalid UTF-8 in strings is
/// repaired with U+FFFD, as `String(decoding:)` does) and returns nil for malformed input.
///
/// ```swift
/// guard let chunk = JSONNode.parse(Array(data.utf8)) else { throw malformed }
/// let text = chunk["choices"]?[0]?["delta"]?["content"]?.string
/// ```
public enum JSONNode: Sendable, Hashable {
    case null
    case bool(Bool)
    /// Every number, as written; read it with ``int`` or ``double``.
    case number(Double, integer: Int?)
    case string(String)
    case array([JSONNode])
    /// Members in document order (chunks are small: a linear lookup beats hashing).
    case object([(key: String, value: JSONNode)])

    public static func == (lhs: JSONNode, rhs: JSONNode) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a, _), .number(let b, _)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .number(let value, _): hasher.combine(value)
        case .string(let value): hasher.combine(value)
        case .array(let values): hasher.combine(values)
        case .object(let members):
            for member in members {
                hasher.combine(member.key)
                hasher.combine(member.value)
            }
        }
    }

    /// The member `key` of an object (the first one, if repeated); nil otherwise.
    public subscript(key: String) -> JSONNode? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// Element `index` of an array; nil when out of range or not an array.
    public subscript(index: Int) -> JSONNode? {
        guard case .array(let values) = self, values.indices.contains(index) else { return nil }
        return values[index]
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number when it is an integer that fits `Int` (`12`, `12.0`, `1.2e1`).
    public var int: Int? {
        if case .number(_, let integer) = self { return integer }
        return nil
    }

    public var double: Double? {
        if case .number(let value, _) = self { return value }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var array: [JSONNode]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// True when an object has the member `key`, whatever its value (`null` included).
    public func has(_ key: String) -> Bool {
        self[key] != nil
    }

    /// Parses one JSON document (surrounding whitespace allowed); nil when malformed or nested
    /// deeper than `maxDepth`.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) -> JSONNode? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(bytes: buffer, maxDepth: maxDepth)
            return reader.document()
        }
    }

    public static func parse(_ text: String, maxDepth: Int = 64) -> JSONNode? {
        parse(Array(text.utf8), maxDepth: maxDepth)
    }
}
