import ArgumentParser
import ChorusHTTPBridge
import ChorusRPCClient
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `chorusd bridge --upstream host:port`: the HTTP/SSE bridge alone, in front of a remote chorusd,
/// translating its binary RPC stream. Same bridge code; the service is a `ChorusClient`.
struct BridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "Run only the HTTP/SSE bridge in front of a remote chorusd."
    )

    @Option(help: "The chorusd RPC address to forward to (host:port). Env: CHORUS_UPSTREAM.")
    var upstream: String?

    @OptionGroup var http: HTTPOptions

    @Option(help: "Seconds running calls may continue after SIGTERM. Env: CHORUS_DRAIN_GRACE. Default: 30.")
    var drainGrace: Double?

    @Option(help: "Most RPC connections to the upstream chorusd; another opens only when every open one runs as many calls as chorusd allows per connection. Env: CHORUS_UPSTREAM_CONNECTIONS. Default: 64.")
    var upstreamConnections: Int?

    @Option(help: "Seconds an upstream connection may stay without calls before it is closed (the last one stays; 0: never). Env: CHORUS_UPSTREAM_IDLE_TIMEOUT. Default: 30.")
    var upstreamIdleTimeout: Double?

    @Option(help: "Log level. Env: CHORUS_LOG_LEVEL. Default: info.")
    var logLevel: String?

    func run() async throws {
        let settings = try BridgeSettings(command: self, environment: ProcessInfo.processInfo.environment)
        bootstrapLogging(level: settings.logLevel)
        let logger = Logger(label: "chorusd.bridge")
        let client = ChorusClient(host: settings.host, port: settings.port, configuration: settings.client, logger: logger)
        defer { client.close() }
        let bridge = ChorusHTTPBridge(service: client, configuration: settings.bridge, logger: logger)
        logger.info("chorus HTTP bridge", metadata: [
            "address": "\(settings.bridge.host):\(settings.bridge.port)", "upstream": "\(settings.host):\(settings.port)",
        ])
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: bridge)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

/// `chorusd bridge`'s flags, then environment variables, then defaults.
struct BridgeSettings {
    var host: String
    var port: Int
    var logLevel: Logger.Level
    var bridge: ChorusHTTPBridge.Configuration
    var client: ChorusClient.Configuration

    init(command: BridgeCommand, environment: [String: String]) throws {
        guard let upstream = Setting.string(command.upstream, "CHORUS_UPSTREAM", environment: environment) else {
            throw ValidationError("--upstream host:port is required (the chorusd RPC address)")
        }
        (host, port) = try HTTPOptions.split(upstream, what: "upstream")
        logLevel = try Setting.logLevel(command.logLevel, environment: environment)
        guard var bridge = try command.http.configuration(environment: environment) else {
            throw ValidationError("the bridge needs an HTTP address; 'off' makes no sense here")
        }
        if let grace = try HTTPOptions.drainGrace(command.drainGrace, environment: environment) { bridge.drainGracePeriod = grace }
        self.bridge = bridge
        // A small call window bounds what a stalled SSE client can make the bridge hold per call.
        client = ChorusClient.Configuration.forwarding
        if let count = try Setting.positiveInteger(command.upstreamConnections, "CHORUS_UPSTREAM_CONNECTIONS", name: "upstream connections", environment: environment) {
            client.maxConnections = count
        }
        if let seconds = try Setting.seconds(command.upstreamIdleTimeout, "CHORUS_UPSTREAM_IDLE_TIMEOUT", name: "upstream idle timeout", environment: environment) {
            guard seconds >= 0 else { throw ValidationError("upstream idle timeout must be zero or more seconds, got \(seconds)") }
            client.idleConnectionTimeout = seconds == 0 ? nil : .milliseconds(Int64(seconds * 1000))
        }
    }
}
