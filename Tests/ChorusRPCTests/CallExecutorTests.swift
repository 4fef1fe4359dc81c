import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusRPCClient
import ChorusRPCServer
import Logging
import NIOPosix
import Testing

/// `ChorusRPCServer.Configuration.callExecutor`: where a connection's calls run, and that the
/// whole stack behaves the same on either.
@Suite("Call executor (event loop or global pool)")
struct CallExecutorTests {
    /// Reports, as text events, whether the call and a child task of it run on an event loop.
    struct WhereAmIService: ChorusService {
        func analyze(_ request: AnalyzeRequest, context: CallContext, sink: some AnalyzeEventSink) async throws {
            let call = MultiThreadedEventLoopGroup.currentEventLoop != nil
            // Models run in child tasks; they must inherit the call's executor.
            let child = await withTaskGroup(of: Bool.self) { group in
                group.addTask { MultiThreadedEventLoopGroup.currentEventLoop != nil }
                return await group.next()!
            }
            // After a suspension that resumes from another thread (a timer), still the same place.
            try await Task.sleep(for: .milliseconds(2))
            let resumed = MultiThreadedEventLoopGroup.currentEventLoop != nil
            for (seq, onLoop) in [call, child, resumed].enumerated() {
                sink.append(AnalyzeEvent(seq: UInt64(seq + 1), timestampMicros: 0, payload: .textGeneration(TextGeneration(model: "where", text: onLoop ? "loop" : "pool"))))
            }
        }

        func listModels(context: CallContext) async throws -> [ModelInfo] { [] }

        func health(context: CallContext) async throws -> HealthReport {
            HealthReport(status: .serving, version: "test", uptime: .zero, activeCalls: 0)
        }
    }

    @Test("calls run where the configuration says, child tasks included", arguments: ChorusRPCServer.CallExecutor.allCases)
    func placement(executor: ChorusRPCServer.CallExecutor) async throws {
        var configuration = ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.callExecutor = executor
        try await withServer(service: WhereAmIService(), configuration: configuration) { _, port in
            try await withClient(port: port) { client in
                let places = try await collect(client.analyze(AnalyzeRequest(query: "where"))).compactMap(\.text)
                let expected = executor == .eventLoop ? "loop" : "pool"
                #expect(places == [expected, expected, expected])
            }
        }
    }

    @Test("three demo models, many calls at once: complete, ordered streams on either executor", arguments: ChorusRPCServer.CallExecutor.allCases)
    func demoModels(executor: ChorusRPCServer.CallExecutor) async throws {
        var configuration = ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.callExecutor = executor
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withServer(service: orchestrator, configuration: configuration) { _, port in
            try await withClient(port: port) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            let request = AnalyzeRequest(query: "call \(index) [demo:fast]", models: ["gemini", "pegasus", "gpt4o"])
                            let events = try await collect(client.analyze(request))
                            #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
                            guard case .complete(let complete) = events.last?.payload else {
                                Issue.record("call \(index) did not end with complete")
                                return
                            }
                            #expect(Set(complete.succeeded) == ["gemini", "pegasus", "gpt4o"])
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test("a call cancelled by its client stops promptly on either executor", arguments: ChorusRPCServer.CallExecutor.allCases)
    func cancellation(executor: ChorusRPCServer.CallExecutor) async throws {
        var configuration = ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.callExecutor = executor
        let observer = DemoObserver()
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(observer: observer), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withServer(service: orchestrator, configuration: configuration) { _, port in
            try await withClient(port: port) { client in
                for try await event in client.analyze(AnalyzeRequest(query: "Describe every scene", models: ["gemini", "pegasus", "gpt4o"])) where event.text != nil {
                    break
                }
                // Functional bound, not a benchmark: the providers see the cancellation well within it.
                #expect(await observer.wait(for: .cancelled, count: 3, timeout: .seconds(5)))
            }
        }
    }
}
