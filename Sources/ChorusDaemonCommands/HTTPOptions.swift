import ArgumentParser
import ChorusHTTPBridge
import Foundation

/// Options of the HTTP/SSE bridge, shared by `serve` and `bridge`.
struct HTTPOptions: ParsableArguments {
    @Option(help: "HTTP bridge address host:port, or 'off'. Env: CHORUS_HTTP_ADDRESS. Default: 127.0.0.1:8080.")
    var httpAddress: String?

    @Option(name: .customLong("allow-origin"), help: "An origin allowed to call the HTTP API cross-origin (repeatable; '*' for any). Env: CHORUS_ALLOWED_ORIGINS (comma-separated). Default: same origin only.")
    var allowOrigin: [String] = []

    @Option(help: "Seconds of quiet before an SSE heartbeat comment. Env: CHORUS_HEARTBEAT. Default: 15.")
    var heartbeat: Double?

    @Option(help: "Most concurrent calls through the bridge before 429. Env: CHORUS_HTTP_MAX_CALLS. Default: 1000.")
    var httpMaxCalls: Int?

    @Option(help: "Seconds a finished call stays resumable with Last-Event-ID. Env: CHORUS_REPLAY_RETENTION. Default: 60.")
    var replayRetention: Double?

    @Option(help: "Bytes of events kept per call for resumption. Env: CHORUS_REPLAY_BYTES. Default: 1048576.")
    var replayBytes: Int?

    @Option(help: "Bytes of events kept by all finished calls together for resumption; the oldest are forgotten first. Env: CHORUS_REPLAY_TOTAL_BYTES. Default: 268435456.")
    var replayTotalBytes: Int?

    @Option(help: "Most finished calls kept for resumption; the oldest are forgotten first. Env: CHORUS_REPLAY_MAX_CALLS. Default: 10000.")
    var replayMaxCalls: Int?

    @Option(help: "Largest accepted request body in bytes. Env: CHORUS_HTTP_MAX_BODY. Default: 65536.")
    var httpMaxBody: Int?

    @Option(help: "Seconds an idle kept-alive HTTP connection stays open (0: no limit). Env: CHORUS_HTTP_IDLE_TIMEOUT. Default: 75.")
    var httpIdleTimeout: Double?

    @Option(help: "Connections the kernel queues before the HTTP bridge accepts them (listen backlog, capped by net.core.somaxconn). Env: CHORUS_HTTP_LISTEN_BACKLOG. Default: 4096.")
    var httpListenBacklog: Int?

    @Option(help: "Seconds a running call outlives its last SSE client, so a dropped client can resume it with Last-Event-ID (0: stop the models at once). Env: CHORUS_RESUME_GRACE. Default: 0.")
    var resumeGrace: Double?

    /// nil when the bridge is turned off.
    func configuration(environment: [String: String]) throws -> ChorusHTTPBridge.Configuration? {
        var configuration = ChorusHTTPBridge.Configuration()
        let address = Setting.string(httpAddress, "CHORUS_HTTP_ADDRESS", environment: environment) ?? "127.0.0.1:8080"
        if address.lowercased() == "off" { return nil }
        let (host, port) = try HTTPOptions.split(address, what: "HTTP address")
        configuration.host = host
        configuration.port = port
        configuration.allowedOrigins = allowOrigin.isEmpty
            ? (environment["CHORUS_ALLOWED_ORIGINS"] ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            : allowOrigin
        if let seconds = try Setting.seconds(heartbeat, "CHORUS_HEARTBEAT", name: "heartbeat", environment: environment) {
            guard seconds > 0 else { throw ValidationError("heartbeat must be positive seconds") }
            configuration.heartbeatInterval = .milliseconds(Int64(seconds * 1000))
        }
        if let calls = try Setting.positiveInteger(httpMaxCalls, "CHORUS_HTTP_MAX_CALLS", name: "HTTP max calls", environment: environment) {
            configuration.maxConcurrentCalls = calls
        }
        if let seconds = try Setting.seconds(replayRetention, "CHORUS_REPLAY_RETENTION", name: "replay retention", environment: environment) {
            guard seconds >= 0 else { throw ValidationError("replay retention must be zero or more seconds") }
            configuration.replayRetention = .milliseconds(Int64(seconds * 1000))
        }
        if let bytes = try Setting.positiveInteger(replayBytes, "CHORUS_REPLAY_BYTES", name: "replay bytes", environment: environment) {
            configuration.replayMaxBytes = bytes
        }
        if let bytes = try Setting.integer(replayTotalBytes, "CHORUS_REPLAY_TOTAL_BYTES", environment: environment) {
            guard bytes >= 0 else { throw ValidationError("replay total bytes must be zero or more") }
            configuration.replayMaxTotalBytes = bytes
        }
        if let calls = try Setting.integer(replayMaxCalls, "CHORUS_REPLAY_MAX_CALLS", environment: environment) {
            guard calls >= 0 else { throw ValidationError("replay max calls must be zero or more") }
            configuration.replayMaxCalls = calls
        }
        if let bytes = try Setting.positiveInteger(httpMaxBody, "CHORUS_HTTP_MAX_BODY", name: "HTTP max body", environment: environment) {
            configuration.maxBodyBytes = bytes
        }
        if let seconds = try Setting.seconds(httpIdleTimeout, "CHORUS_HTTP_IDLE_TIMEOUT", name: "HTTP idle timeout", environment: environment) {
            guard seconds >= 0 else { throw ValidationError("HTTP idle timeout must be zero or more seconds") }
            configuration.idleConnectionTimeout = seconds == 0 ? nil : .milliseconds(Int64(seconds * 1000))
        }
        if let backlog = try Setting.positiveInteger(httpListenBacklog, "CHORUS_HTTP_LISTEN_BACKLOG", name: "HTTP listen backlog", environment: environment) {
            guard backlog <= Int(Int32.max) else { throw ValidationError("HTTP listen backlog must be at most \(Int32.max), got \(backlog)") }
            configuration.listenBacklog = backlog
        }
        if let seconds = try Setting.seconds(resumeGrace, "CHORUS_RESUME_GRACE", name: "resume grace", environment: environment) {
            guard seconds >= 0, seconds <= 3600 else { throw ValidationError("resume grace must be between 0 and 3600 seconds, got \(seconds)") }
            configuration.resumeGracePeriod = .milliseconds(Int64(seconds * 1000))
        }
        return configuration
    }

    /// `--drain-grace` or `CHORUS_DRAIN_GRACE` (seconds), shared by `serve` and `bridge`; nil when neither is set.
    static func drainGrace(_ flag: Double?, environment: [String: String]) throws -> Duration? {
        guard let grace = try Setting.seconds(flag, "CHORUS_DRAIN_GRACE", name: "drain grace", environment: environment) else { return nil }
        guard grace >= 0 else { throw ValidationError("drain grace must be zero or more seconds, got \(grace)") }
        return .milliseconds(Int64(grace * 1000))
    }

    static func split(_ address: String, what: String) throws -> (String, Int) {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2, let port = Int(parts.last!), (0...65535).contains(port) else {
            throw ValidationError("\(what) '\(address)' must be host:port, e.g. 127.0.0.1:7070")
        }
        return (parts.dropLast().joined(separator: ":").trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }
}
