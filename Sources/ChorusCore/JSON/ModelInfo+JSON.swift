extension ModelInfo {
    /// Writes the model as a JSON object:
    /// `{"name":"gemini","provider":"demo","demo":true,"available":true,"upstream_model":"","description":"..."}`.
    public func writeJSON(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("name")
        writer.string(name)
        writer.key("provider")
        writer.string(provider)
        writer.key("demo")
        writer.bool(demo)
        writer.key("available")
        writer.bool(available)
        writer.key("upstream_model")
        writer.string(upstreamModel)
        writer.key("description")
        writer.string(description)
        writer.endObject()
    }

    /// A model list as one JSON line: `{"models":[{...},{...}]}`.
    ///
    /// ```swift
    /// print(ModelInfo.jsonLine(for: try await client.listModels()))
    /// ```
    public static func jsonLine(for models: [ModelInfo]) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("models")
        writer.beginArray()
        for model in models {
            model.writeJSON(to: &writer)
        }
        writer.endArray()
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

extension HealthReport.Status {
    /// The upper-case name used in JSON and by the CLI: `SERVING`, `NOT_SERVING` or `UNKNOWN`.
    public var name: String {
        switch self {
        case .serving: return "SERVING"
        case .notServing: return "NOT_SERVING"
        case .unknown: return "UNKNOWN"
        }
    }
}

extension HealthReport {
    /// The report as one JSON line:
    /// `{"status":"SERVING","version":"0.1.0","uptime_ms":12345.678,"active_calls":2}`.
    public func jsonLine() -> String {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("status")
        writer.string(status.name)
        writer.key("version")
        writer.string(version)
        writer.key("uptime_ms")
        writer.millis(duration: uptime)
        writer.key("active_calls")
        writer.integer(activeCalls)
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
