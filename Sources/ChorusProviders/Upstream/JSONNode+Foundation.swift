import ChorusCore
import Foundation

/// The bridge from the providers' streaming parser (``JSONNode``) to the Foundation objects that
/// ``ErrorDetails`` reads. Only error paths use it: a chunk is parsed once into a `JSONNode`, and
/// converted only when it turns out to be an error object, which is rare and then not hot.
extension JSONNode {
    /// `[String: Any]`, `[Any]`, `Int` (integers that fit), `Double`, `Bool`, `String` or `NSNull`,
    /// like `JSONSerialization.jsonObject` gives (members repeated in an object: the first wins,
    /// as in ``JSONNode/subscript(_:)-(String)``).
    var foundationObject: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let value): return value
        case .number(let value, let integer): return integer.map { $0 as Any } ?? value
        case .string(let value): return value
        case .array(let values): return values.map(\.foundationObject)
        case .object(let members):
            var dictionary: [String: Any] = [:]
            for member in members where dictionary[member.key] == nil {
                dictionary[member.key] = member.value.foundationObject
            }
            return dictionary
        }
    }

    /// Compact JSON text of the value, for error messages that quote what arrived.
    var jsonText: [UInt8] {
        let data = try? JSONSerialization.data(withJSONObject: foundationObject, options: [.fragmentsAllowed, .sortedKeys])
        return data.map { Array($0) } ?? Array("\(self)".utf8)
    }

    /// An integer however the upstream wrote it: `12`, `12.0`, `12.7` (truncated) or `"12"`.
    var lenientInt: Int? {
        switch self {
        case .number(let value, let integer): return integer ?? (value.isFinite && abs(value) < 9e18 ? Int(value) : nil)
        case .string(let value): return Int(value)
        default: return nil
        }
    }

    /// `true`/`false`, or a number read as C does (non-zero is true).
    var lenientBool: Bool? {
        switch self {
        case .bool(let value): return value
        case .number(let value, _): return value != 0
        default: return nil
        }
    }
}
