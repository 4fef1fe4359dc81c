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
        let environment = ProcessInfo.processInfo.environment
        guard let upstream = upstream ?? environment["CHORUS_UPSTREAM"] else {
            throw ValidationError("--upstream host:port is required (the chorusd RPC address)")
        }
        let (host, port) = try HTTPOptions.split(upstream, what: "upstream")
        let level = try Logger.Level(rawValue: (logLevel ?? environment["CHORUS_LOG_LEVEL"] ?? "info").lowercased())
            ?? { throw ValidationError("unknown log level") }()
        bootstrapLogging(level: level)
        let logger = Logger(label: "chorusd.bridge")
        guard var configuration = try http.configuration(environment: environment) else {
            throw ValidationError("the bridge needs an HTTP address; 'off' makes no sense here")
        }
        if let grace = try HTTPOptions.drainGrace(drainGrace, environment: environment) { configuration.drainGracePeriod = grace }
        // A small call window bounds what a stalled SSE client can make the bridge hold per call.
        var clientConfiguration = ChorusClient.Configuration.forwarding
        if let count = try Setting.positiveInteger(upstreamConnections, "CHORUS_UPSTREAM_CONNECTIONS", name: "upstream connections", environment: environment) {
            clientConfiguration.maxConnections = count
        }
        if let seconds = try Setting.seconds(upstreamIdleTimeout, "CHORUS_UPSTREAM_IDLE_TIMEOUT", name: "upstream idle timeout", environment: environment) {
            guard seconds >= 0 else { throw ValidationError("upstream idle timeout must be zero or more seconds, got \(seconds)") }
            clientConfiguration.idleConnectionTimeout = seconds == 0 ? nil : .milliseconds(Int64(seconds * 1000))
        }
        let client = ChorusClient(host: host, port: port, configuration: clientConfiguration, logger: logger)
        defer { client.close() }
        let bridge = ChorusHTTPBridge(service: client, configuration: configuration, logger: logger)
        logger.info("chorus HTTP bridge", metadata: ["address": "\(configuration.host):\(configuration.port)", "upstream": "\(upstream)"])
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [.init(service: bridge)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
