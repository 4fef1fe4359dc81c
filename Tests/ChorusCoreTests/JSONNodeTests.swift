import ChorusCore
import Foundation
import Testing

@Suite("JSONNode (the providers' chunk parser)")
struct JSONNodeTests {
    /// Converts a JSONSerialization result into JSONNode for comparison.
    static func node(_ object: Any) -> JSONNode {
        switch object {
        case is NSNull: return .null
        case let dictionary as [String: Any]:
            return .object(dictionary.keys.sorted().map { ($0, node(dictionary[$0]!)) })
        case let array as [Any]: return .array(array.map(node))
        case let string as String: return .string(string)
        // Foundation on Linux gives no portable way to tell a boolean NSNumber from 0/1, so
        // booleans are compared as numbers (see `normalized`).
        case let number as NSNumber: return .number(number.doubleValue, integer: nil)
        default: Issue.record("unexpected \(type(of: object))"); return .null
        }
    }

    static func normalized(_ value: JSONNode) -> JSONNode {
        switch value {
        case .object(let members): return .object(members.sorted { $0.key < $1.key }.map { ($0.key, normalized($0.value)) })
        case .array(let values): return .array(values.map(normalized))
        case .bool(let flag): return .number(flag ? 1 : 0, integer: nil)
        default: return value
        }
    }

    @Test("agrees with JSONSerialization", arguments: [
        #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764115200,"choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}"#,
        #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":6,"total_tokens":18}}"#,
        #"  [1, -2, 3.5, -0.25, 1e3, 2E-2, 0, true, false, null, "", {}, []]  "#,
        #"{"s":"quote \" backslash \\ slash \/ \b\f\n\r\t tab","u":"\u00e9\u4e2d\ud83d\ude00 and \u0041"}"#,
        #"{"nested":{"a":[{"b":[[[]]]}]},"emoji":"🎬 ünïcödé ✓"}"#,
        #"{"big":12345678901234,"neg":-9007199254740991,"frac":123.456e-2}"#,
    ])
    func agrees(_ text: String) throws {
        let parsed = try #require(JSONNode.parse(text))
        let expected = Self.node(try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
        #expect(Self.normalized(parsed) == expected)
    }

    @Test("reads members, elements and numbers")
    func accessors() throws {
        let chunk = try #require(JSONNode.parse(#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"completion_tokens":7},"t":2.0,"x":null,"ok":true}"#))
        #expect(chunk["choices"]?[0]?["delta"]?["content"]?.string == "Hi")
        #expect(chunk["choices"]?[0]?["finish_reason"]?.string == "stop")
        #expect(chunk["choices"]?[1] == nil)
        #expect(chunk["usage"]?["completion_tokens"]?.int == 7)
        #expect(chunk["t"]?.int == 2)
        #expect(chunk["t"]?.double == 2)
        #expect(chunk["x"]?.isNull == true)
        #expect(chunk["ok"]?.bool == true)
        #expect(chunk["missing"] == nil)
        #expect(JSONNode.parse("1.5")?.int == nil)
        #expect(chunk.isObject)
        #expect(chunk["choices"]?.isObject == false)
        #expect(chunk.has("x"), "a member whose value is null is present")
        #expect(!chunk.has("missing"))
        #expect(JSONNode.parse("[1]")?.has("0") == false)
    }

    @Test("malformed input is rejected, never crashes", arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]",
        "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"raw \n newline\"", "tru", "nul", "[1] 2",
        "NaN", "[Infinity]", "{\"a\":1}}", "[1e999]",
    ])
    func malformed(_ text: String) {
        #expect(JSONNode.parse(text) == nil)
    }

    @Test("a lone surrogate becomes U+FFFD; depth is limited")
    func edgeCases() {
        #expect(JSONNode.parse(#""\ud83d x""#)?.string == "\u{FFFD} x")
        #expect(JSONNode.parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)) == nil)
        #expect(JSONNode.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) != nil)
    }
}
