import ArgumentParser
import ChorusCommandLine
import ChorusCore
import ChorusOrchestrator
import ChorusRPCServer
import ChorusTestSupport
import Foundation
import Logging
import NIOCore
import Testing

/// The CLI through the real client adapter against a real loopback server and orchestrator.
@Suite("End to end over loopback")
struct EndToEndTests {
    /// Runs an RPC server for `models` on a free port for the duration of `body`.
    func withServer<Result: Sendable>(
        _ models: [String: any ModelProvider],
        _ body: @Sendable (ServerAddress) async throws -> Result
    ) async throws -> Result {
        let noLogs = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let registry = try ModelRegistry(
            entries: models.map {
                ModelRegistry.Entry(name: $0.key, provider: $0.value, settings: ModelSettings(demo: true))
            },
            recommendations: RecommendationTable(rules: [], fallback: models.keys.sorted())
        )
        let server = ChorusRPCServer(
            service: Orchestrator(registry: registry, logger: noLogs),
            configuration: ChorusRPCServer.Configuration(host: "127.0.0.1", port: 0),
            logger: noLogs
        )
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                try await server.run()
                return nil
            }
            defer {
                server.beginGracefulShutdown()
                group.cancelAll()
            }
            let port = try #require(await server.listeningAddress?.port)
            return try await body(ServerAddress(host: "127.0.0.1", port: port))
        }
    }

    @Test func jsonModeStreamsEveryEventFromARealServer() async throws {
        let models: [String: any ModelProvider] = [
            "alpha": ScriptedProvider(kind: "demo", chunks: ["Hello ", "from ", "alpha."], interval: .milliseconds(5)),
            "beta": FailingProvider(kind: "demo", error: ChorusError(.unavailable, "upstream 503"), after: ["Hi"]),
        ]
        let (code, lines) = try await withServer(models) { address in
            let backend = ChorusClientBackend(address: address)
            let stdout = RecordingOutput()
            let code = await AnalyzeCommand.execute(
                AnalyzeRequest(query: "What happens?", models: ["alpha", "beta"], requestID: "e2e-1"),
                timeout: .seconds(10), backend: backend, mode: .json, colors: false, environment: [:],
                standardOutput: stdout, standardError: RecordingOutput()
            )
            await backend.close()
            return (code, stdout.lines)
        }
        #expect(code == 0)
        let objects = try lines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.first?["event_type"] as? String == "start")
        #expect(objects.first?["request_id"] as? String == "e2e-1")
        #expect(objects.last?["event_type"] as? String == "complete")
        #expect(objects.last?["succeeded"] as? [String] == ["alpha"])
        #expect(objects.last?["failed"] as? [String] == ["beta"])
        let alphaText = objects.filter {
            $0["event_type"] as? String == "text_generation" && $0["model"] as? String == "alpha"
        }
        .compactMap { $0["text"] as? String }.joined()
        #expect(alphaText == "Hello from alpha.")
        #expect(objects.contains { $0["event_type"] as? String == "error" && $0["code"] as? String == "UNAVAILABLE" })
        #expect(objects.map { $0["seq"] as? Int } == Array(1...objects.count).map { $0 })
    }

    @Test func modelsAndHealthFromARealServer() async throws {
        let models: [String: any ModelProvider] = ["alpha": ScriptedProvider(kind: "demo", chunks: ["x"])]
        let (modelLines, healthCode) = try await withServer(models) { address in
            let backend = ChorusClientBackend(address: address)
            let stdout = RecordingOutput()
            let models = try #require(try ChorusCommand.parseAsRoot(["models"]) as? ModelsCommand)
            let health = try #require(try ChorusCommand.parseAsRoot(["health"]) as? HealthCommand)
            _ = await models.execute(backend: backend, standardOutput: stdout)
            let healthCode = await health.execute(backend: backend, standardOutput: RecordingOutput())
            await backend.close()
            return (stdout.lines, healthCode)
        }
        #expect(modelLines.count == 3)
        #expect(modelLines[2].hasPrefix("alpha  demo      demo  yes"))
        #expect(healthCode == 0)
    }

    @Test func cancellingTheCommandCancelsTheModelOnTheServer() async throws {
        let stalling = StallingProvider(kind: "demo", after: ["thinking"])
        let cancelledOnServer = try await withServer(["slow": stalling]) { address in
            let backend = ChorusClientBackend(address: address)
            let stdout = RecordingOutput()
            let task = Task {
                await AnalyzeCommand.execute(
                    AnalyzeRequest(query: "q", models: ["slow"]), timeout: nil, backend: backend, mode: .plain,
                    colors: false, environment: [:], standardOutput: stdout, standardError: RecordingOutput()
                )
            }
            // Wait until the first chunk is on screen, then press "Ctrl-C".
            let deadline = ContinuousClock.now + .seconds(5)
            while !stdout.text.contains("slow started"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            task.cancel()
            #expect(await task.value == 130)
            let cancelled = await stalling.waitForCancellation(timeout: .seconds(5))
            await backend.close()
            return cancelled
        }
        #expect(cancelledOnServer, "the server-side model saw the cancellation")
    }

    @Test func unreachableServerIsACallFailure() async throws {
        // Bind-and-release a port so that nothing listens on it.
        let address = try await withServer([:]) { $0 }
        let backend = ChorusClientBackend(address: address)
        let stderr = RecordingOutput()
        let code = await AnalyzeCommand.execute(
            AnalyzeRequest(query: "q"), timeout: .seconds(5), backend: backend, mode: .plain, colors: false,
            environment: [:], standardOutput: RecordingOutput(), standardError: stderr
        )
        await backend.close()
        #expect(code == 1)
        #expect(stderr.text.hasPrefix("error: UNAVAILABLE: "))
    }
}
