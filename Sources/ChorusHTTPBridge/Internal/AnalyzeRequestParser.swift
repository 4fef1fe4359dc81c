import ChorusCore
import Foundation
import Hummingbird

/// Turns a POST JSON body or GET query parameters into an ``AnalyzeRequest``, naming the field in
/// every error. Model names are checked by the service (it knows the registry).
enum AnalyzeRequestParser {
    static func parse(json bytes: [UInt8]) throws -> AnalyzeRequest {
        // JSONNode rather than JSONSerialization: strict, and no Foundation boxing per request.
        guard let body = JSONNode.parse(bytes) else {
            throw BridgeError(.badRequest, .invalidArgument, "request body is not valid JSON")
        }
        guard body.isObject else {
            throw BridgeError(.badRequest, .invalidArgument, "request body must be a JSON object")
        }
        guard let rawQuery = body["query"] else {
            throw BridgeError(.badRequest, .invalidArgument, "field 'query' is required")
        }
        guard let query = rawQuery.string else {
            throw BridgeError(.badRequest, .invalidArgument, "field 'query' must be a string")
        }
        var models: [String] = []
        if let rawModels = body["models"], !rawModels.isNull {
            guard let list = rawModels.array?.compactMap(\.string), list.count == rawModels.array?.count else {
                throw BridgeError(.badRequest, .invalidArgument, "field 'models' must be an array of model names")
            }
            models = list
        }
        func string(_ key: String) throws -> String? {
            guard let value = body[key], !value.isNull else { return nil }
            guard let string = value.string else {
                throw BridgeError(.badRequest, .invalidArgument, "field '\(key)' must be a string")
            }
            return string
        }
        var options = AnalyzeOptions()
        if let rawOptions = body["options"], !rawOptions.isNull {
            guard rawOptions.isObject else {
                throw BridgeError(.badRequest, .invalidArgument, "field 'options' must be an object")
            }
            options = try parseOptions { key in
                guard let value = rawOptions[key], !value.isNull else { return nil }
                guard let number = value.double else {
                    throw BridgeError(.badRequest, .invalidArgument, "field 'options.\(key)' must be a number")
                }
                return number
            }
        }
        return AnalyzeRequest(
            query: query,
            models: models,
            video: VideoReference(indexID: try string("index_id"), videoID: try string("video_id"), videoPath: try string("video_path")),
            requestID: try string("request_id"),
            options: options
        )
    }

    /// The options, reading each numeric field through `number` (nil when absent).
    static func parseOptions(_ number: (String) throws -> Double?) throws -> AnalyzeOptions {
        var result = AnalyzeOptions()
        if let timeout = try number("model_timeout_ms") {
            guard timeout > 0 else { throw BridgeError(.badRequest, .invalidArgument, "field 'options.model_timeout_ms' must be positive") }
            result.modelTimeout = .milliseconds(Int64(timeout))
        }
        if let tokens = try number("max_output_tokens") {
            guard tokens >= 1, tokens <= 1_000_000 else {
                throw BridgeError(.badRequest, .invalidArgument, "field 'options.max_output_tokens' must be between 1 and 1000000")
            }
            result.maxOutputTokens = Int(tokens)
        }
        if let temperature = try number("temperature") {
            guard (0...2).contains(temperature) else {
                throw BridgeError(.badRequest, .invalidArgument, "field 'options.temperature' must be between 0 and 2")
            }
            result.temperature = temperature
        }
        return result
    }

    /// GET form for EventSource: `?query=…&models=a,b&index_id=…&video_id=…&video_path=…&request_id=…`.
    static func parse(query parameters: Parameters) throws -> AnalyzeRequest {
        guard let query = parameters.get("query") else {
            throw BridgeError(.badRequest, .invalidArgument, "query parameter 'query' is required")
        }
        let models = parameters.getAll("models").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let options = try parseOptions { key in
            guard let value = parameters.get(key) else { return nil }
            guard let number = Double(value), number.isFinite else {
                throw BridgeError(.badRequest, .invalidArgument, "query parameter '\(key)' must be a number")
            }
            return number
        }
        return AnalyzeRequest(
            query: query,
            models: models,
            video: VideoReference(indexID: parameters.get("index_id"), videoID: parameters.get("video_id"), videoPath: parameters.get("video_path")),
            requestID: parameters.get("request_id"),
            options: options
        )
    }
}
