import ChorusCore
import ChorusHTTPBridge
import ChorusOrchestrator
import ChorusProviders
import ChorusRPCServer
import Logging
import NIOCore

let quietLogger = Logger(label: "test.bridge", factory: { _ in SwiftLogNoOpLogHandler() })

/// The three built-in demo models, in the order the tests ask for them.
let allModels = ["gemini", "pegasus", "gpt4o"]

/// What a test gets from ``withBridge(configuration:observer:service:_:)``.
struct BridgeFixture: Sendable {
    var bridge: ChorusHTTPBridge
    var port: Int
    /// Sees every demo model of the orchestrator (when the harness built it).
    var observer: DemoObserver

    var origin: String { "http://127.0.0.1:\(port)" }
}

/// A test configuration: loopback, port 0, otherwise the production defaults unless overridden.
func bridgeConfiguration(_ adjust: (inout ChorusHTTPBridge.Configuration) -> Void = { _ in }) -> ChorusHTTPBridge.Configuration {
    var configuration = ChorusHTTPBridge.Configuration(host: "127.0.0.1", port: 0)
    adjust(&configuration)
    return configuration
}

/// An orchestrator over the built-in demo registry, reporting to `observer`.
func demoOrchestrator(observer: DemoObserver) -> Orchestrator {
    Orchestrator(registry: BuiltInRegistry.make(observer: observer), logger: quietLogger)
}

/// Runs a real bridge on a loopback port for the duration of `body`, in front of `service`
/// (by default an in-process orchestrator over the demo models reporting to `observer`).
func withBridge<Result: Sendable>(
    configuration: ChorusHTTPBridge.Configuration = bridgeConfiguration(),
    observer: DemoObserver = DemoObserver(),
    service: (any ChorusService)? = nil,
    _ body: @Sendable (BridgeFixture) async throws -> Result
) async throws -> Result {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let bridge = ChorusHTTPBridge(service: service ?? demoOrchestrator(observer: observer), configuration: configuration, logger: quietLogger)
    return try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask {
            try await bridge.run()
            return nil
        }
        guard let port = await bridge.listeningPort else {
            group.cancelAll()
            throw ChorusError(.unavailable, "test bridge did not bind")
        }
        do {
            let result = try await body(BridgeFixture(bridge: bridge, port: port, observer: observer))
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

/// Runs a real RPC server (`chorusd`'s listener) on a loopback port, over `service` or else the
/// demo models reporting to `observer`.
func withRPCServer<Result: Sendable>(
    observer: DemoObserver = DemoObserver(),
    service: (any ChorusService)? = nil,
    _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    let server = ChorusRPCServer(
        service: service ?? demoOrchestrator(observer: observer),
        configuration: ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0),
        logger: quietLogger
    )
    return try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask {
            try await server.run()
            return nil
        }
        guard let port = await server.listeningAddress?.port else {
            group.cancelAll()
            throw ChorusError(.unavailable, "test RPC server did not bind")
        }
        do {
            let result = try await body(port)
            server.beginGracefulShutdown()
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(2), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// A duration in milliseconds (for messages).
func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return ((Double(seconds) * 1000 + Double(attoseconds) / 1e15) * 100).rounded() / 100
}
