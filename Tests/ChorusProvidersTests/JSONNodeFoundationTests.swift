import ChorusCore
@testable import ChorusProviders
import Foundation
import Testing

/// The bridge the Gemini and TwelveLabs parsers use to hand error objects to ErrorDetails, and the
/// lenient readers that keep their old Foundation-cast behaviour.
@Suite("JSONNode → Foundation bridge (provider error paths)")
struct JSONNodeFoundationTests {
    @Test("converts like JSONSerialization", arguments: [
        #"{"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED", "details": [{"retryDelay": "3s"}]}}"#,
        #"[{"error": {"code": 500.5, "message": "x", "flag": true, "none": null}}]"#,
        #"{"a": [1, -2, 3.25, "s", false, null, {"b": {}}]}"#,
    ])
    func matchesFoundation(json: String) throws {
        let node = try #require(JSONNode.parse(json))
        let expected = try JSONSerialization.jsonObject(with: Data(json.utf8))
        let converted = node.foundationObject
        #expect(NSDictionary(dictionary: ["v": converted]).isEqual(to: ["v": expected]))
        // And ErrorDetails reads the same fields from either.
        let fromNode = ErrorDetails(json: converted)
        let fromFoundation = ErrorDetails(json: expected)
        #expect(fromNode.message == fromFoundation.message)
        #expect(fromNode.httpCode == fromFoundation.httpCode)
        #expect(fromNode.statusName == fromFoundation.statusName)
    }

    @Test("lenient integers and booleans read what the Foundation casts read")
    func lenient() throws {
        #expect(JSONNode.parse("12")?.lenientInt == 12)
        #expect(JSONNode.parse("12.0")?.lenientInt == 12)
        #expect(JSONNode.parse("12.7")?.lenientInt == 12)
        #expect(JSONNode.parse(#""12""#)?.lenientInt == 12)
        #expect(JSONNode.parse("1e300")?.lenientInt == nil)
        #expect(JSONNode.parse("true")?.lenientInt == nil)
        #expect(JSONNode.parse("true")?.lenientBool == true)
        #expect(JSONNode.parse("0")?.lenientBool == false)
        #expect(JSONNode.parse("1")?.lenientBool == true)
        #expect(JSONNode.parse(#""true""#)?.lenientBool == nil)
    }

    @Test("a key present with null still counts as present (an `error: null` member is an error object)")
    func presence() throws {
        let node = try #require(JSONNode.parse(#"{"error": null}"#))
        #expect(node.has("error"))
        #expect(!node.has("message"))
        #expect(GeminiStreamParser.isErrorObject(node))
        #expect(GeminiStreamParser.isErrorObject(try #require(JSONNode.parse(#"[{"error": {}}]"#))))
        #expect(!GeminiStreamParser.isErrorObject(try #require(JSONNode.parse(#"[{"candidates": []}]"#))))
    }

    @Test("quotes a value as compact JSON text")
    func text() throws {
        #expect(String(decoding: try #require(JSONNode.parse(#" [1, "a"] "#)).jsonText, as: UTF8.self) == #"[1,"a"]"#)
        #expect(String(decoding: try #require(JSONNode.parse(#""q\"""#)).jsonText, as: UTF8.self) == #""q\"""#)
    }
}
