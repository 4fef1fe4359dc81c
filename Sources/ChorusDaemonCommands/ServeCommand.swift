import ArgumentParser
import ChorusCore
import ChorusHTTPBridge
import ChorusMedia
import ChorusOrchestrator
import ChorusProviders
import ChorusRPCServer
import ChorusWire
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `chorusd serve`: wires the registry, the orchestrator and the RPC listener together.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the Chorus RPC protocol (the default subcommand)."
    )

    @Option(help: "RPC listen address host:port. Env: CHORUS_RPC_ADDRESS. Default: 127.0.0.1:7070.")
    var rpcAddress: String?

    @OptionGroup var http: HTTPOptions

    @Option(help: "Model registry file (JSON). Env: CHORUS_REGISTRY. Default: the built-in registry (gemini, gpt4o, pegasus: real when GEMINI_API_KEY / OPENAI_API_KEY / TWELVELABS_API_KEY is set, demo otherwise).")
    var registry: String?

    @Option(help: "Directory that request video_path values are resolved in (no '..' or symlink escape). Env: CHORUS_MEDIA_ROOT. Default: none (video_path is refused).")
    var mediaRoot: String?

    @Option(help: "Largest accepted frame payload in bytes. Env: CHORUS_MAX_FRAME_BYTES. Default: 4194304.")
    var maxFrameBytes: Int?

    @Option(help: "Longest accepted query in characters. Env: CHORUS_MAX_QUERY_LENGTH. Default: 8000.")
    var maxQueryLength: Int?

    @Option(help: "Most models per call. Env: CHORUS_MAX_MODELS. Default: 8.")
    var maxModels: Int?

    @Option(help: "Most open connections. Env: CHORUS_MAX_CONNECTIONS. Default: 4096.")
    var maxConnections: Int?

    @Option(help: "Connections the kernel queues before the RPC server accepts them (listen backlog, capped by net.core.somaxconn). Env: CHORUS_LISTEN_BACKLOG. Default: 4096.")
    var listenBacklog: Int?

    @Option(help: "Most concurrent calls per connection. Env: CHORUS_MAX_CALLS_PER_CONNECTION. Default: 100.")
    var maxCallsPerConnection: Int?

    @Option(help: "Where RPC calls run: event-loop (least CPU per event) or global-pool (event loops do only I/O). Env: CHORUS_CALL_EXECUTOR. Default: event-loop.")
    var callExecutor: String?

    @Option(help: "Microseconds a write may wait for more events of the same burst (a model's last chunk, model_end, complete) so they leave in one syscall; 0 writes at once. RPC and SSE. Env: CHORUS_FLUSH_DELAY_US. Default: 100.")
    var flushDelayUs: Int?

    @Option(help: "Seconds running calls (RPC and SSE) may continue after SIGTERM. Env: CHORUS_DRAIN_GRACE. Default: 30.")
    var drainGrace: Double?

    @Option(help: "Log level (trace, debug, info, notice, warning, error). Env: CHORUS_LOG_LEVEL. Default: info.")
    var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try DaemonSettings(command: self, environment: environment)
        bootstrapLogging(level: settings.logLevel)
        let logger = Logger(label: "chorusd")

        let mediaRoot = try settings.mediaRootPath.map { path in
            do { return try MediaRoot(path: path) } catch { throw ValidationError("--media-root: \(ChorusError(from: error).message)") }
        }
        let context = ProviderContext(environment: environment, mediaRoot: mediaRoot, logger: Logger(label: "chorus.providers"))
        let registry = try settings.registryPath.map { try RegistryLoader.load(path: $0, context: context) }
            ?? BuiltInRegistry.make(context: context)
        let orchestrator = Orchestrator(registry: registry, limits: settings.limits, videoPaths: mediaRoot, logger: logger)
        let server = ChorusRPCServer(service: orchestrator, configuration: settings.rpc, logger: logger)
        var listeners: [any Service] = [server]
        if var bridgeConfiguration = try http.configuration(environment: environment) {
            bridgeConfiguration.flushCoalescing = settings.rpc.flushCoalescing
            bridgeConfiguration.drainGracePeriod = settings.rpc.drainGracePeriod
            // The bridge calls the orchestrator in-process: the same ChorusService the RPC server uses.
            listeners.append(ChorusHTTPBridge(service: orchestrator, configuration: bridgeConfiguration, logger: logger))
            logger.info("chorus HTTP bridge", metadata: ["address": "\(bridgeConfiguration.host):\(bridgeConfiguration.port)"])
        }
        // The janitor first, so that it stops last (see UploadJanitorService): uploads are deleted
        // after the calls drained. The listeners as one service, so that they stop accepting and
        // drain together (see ListenerServices).
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: UploadJanitorService(janitor: context.uploads)), .init(service: ListenerServices(listeners)),
        ]
        logger.info("chorusd starting", metadata: [
            "models": "\(registry.entries.map { "\($0.name)=\($0.provider.kind)\($0.settings.available ? "" : "(unavailable)")" }.joined(separator: ","))",
            "registry": "\(settings.registryPath ?? "built-in")",
            "media_root": "\(mediaRoot?.path ?? "none")",
        ])
        for entry in registry.entries where !entry.settings.available {
            logger.warning("model unavailable", metadata: [
                "model": "\(entry.name)", "reason": "\(entry.settings.unavailableReason ?? "marked unavailable")",
            ])
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

/// Flags, then environment variables, then defaults.
struct DaemonSettings {
    var rpc = ChorusRPCServer.Configuration()
    var limits = ServiceLimits()
    var registryPath: String?
    var mediaRootPath: String?
    var logLevel = Logger.Level.info

    init(command: ServeCommand, environment: [String: String]) throws {
        func value(_ flag: String?, _ variable: String) -> String? {
            Setting.string(flag, variable, environment: environment)
        }
        func integer(_ flag: Int?, _ variable: String, name: String) throws -> Int? {
            try Setting.positiveInteger(flag, variable, name: name, environment: environment)
        }
        if let address = value(command.rpcAddress, "CHORUS_RPC_ADDRESS") {
            (rpc.host, rpc.port) = try HTTPOptions.split(address, what: "RPC address")
        }
        if let bytes = try integer(command.maxFrameBytes, "CHORUS_MAX_FRAME_BYTES", name: "max frame bytes") { rpc.maxFramePayload = bytes }
        if let length = try integer(command.maxQueryLength, "CHORUS_MAX_QUERY_LENGTH", name: "max query length") { limits.maxQueryLength = length }
        if let models = try integer(command.maxModels, "CHORUS_MAX_MODELS", name: "max models") { limits.maxModelsPerCall = models }
        if let count = try integer(command.maxConnections, "CHORUS_MAX_CONNECTIONS", name: "max connections") { rpc.maxConnections = count }
        if let backlog = try integer(command.listenBacklog, "CHORUS_LISTEN_BACKLOG", name: "listen backlog") {
            guard backlog <= Int(Int32.max) else { throw ValidationError("listen backlog must be at most \(Int32.max), got \(backlog)") }
            rpc.listenBacklog = backlog
        }
        if let calls = try integer(command.maxCallsPerConnection, "CHORUS_MAX_CALLS_PER_CONNECTION", name: "max calls") {
            rpc.maxConcurrentCallsPerConnection = calls
        }
        if let grace = try HTTPOptions.drainGrace(command.drainGrace, environment: environment) { rpc.drainGracePeriod = grace }
        if let executor = value(command.callExecutor, "CHORUS_CALL_EXECUTOR") {
            guard let parsed = ChorusRPCServer.CallExecutor(rawValue: executor) else {
                let known = ChorusRPCServer.CallExecutor.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("unknown call executor '\(executor)'; use \(known)")
            }
            rpc.callExecutor = parsed
        }
        if let micros = try Setting.integer(command.flushDelayUs, "CHORUS_FLUSH_DELAY_US", environment: environment) {
            guard micros >= 0 else { throw ValidationError("flush delay must be zero or more microseconds, got \(micros)") }
            rpc.flushCoalescing = micros == 0 ? .immediate : FlushCoalescing(maxDelay: .microseconds(micros))
        }
        registryPath = value(command.registry, "CHORUS_REGISTRY")
        mediaRootPath = value(command.mediaRoot, "CHORUS_MEDIA_ROOT")
        logLevel = try Setting.logLevel(command.logLevel, environment: environment)
    }
}

/// Logs go to stderr at `level`; called once by each subcommand before anything logs.
func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
