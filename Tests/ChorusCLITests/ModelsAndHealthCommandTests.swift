import ArgumentParser
import ChorusCommandLine
import ChorusCore
import Foundation
import Testing

@Suite("models and health commands")
struct ModelsAndHealthCommandTests {
    static let models = [
        ModelInfo(name: "gemini", provider: "demo", demo: true, available: true, description: "Fast demo model"),
        ModelInfo(name: "gpt4o", provider: "openai", demo: false, available: false, description: "Needs\tan API key"),
    ]

    func command<C>(_ arguments: [String], as type: C.Type) throws -> C {
        try #require(try ChorusCommand.parseAsRoot(arguments) as? C)
    }

    @Test func modelsTable() async throws {
        var backend = ScriptedBackend()
        backend.models = .success(Self.models)
        let stdout = RecordingOutput()
        let code = try await command(["models"], as: ModelsCommand.self).execute(
            backend: backend, standardOutput: stdout)
        #expect(code == 0)
        #expect(
            stdout.lines == [
                "Name    Provider  Kind  Available  Description",
                "──────  ────────  ────  ─────────  ────────────────",
                "gemini  demo      demo  yes        Fast demo model",
                "gpt4o   openai    real  no         Needs an API key",
            ]
        )
    }

    @Test func modelsJSON() async throws {
        var backend = ScriptedBackend()
        backend.models = .success(Self.models)
        let stdout = RecordingOutput()
        let code = try await command(["models", "--json"], as: ModelsCommand.self).execute(
            backend: backend, standardOutput: stdout)
        #expect(code == 0)
        #expect(stdout.lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.text.utf8)) as? [String: Any])
        let models = try #require(object["models"] as? [[String: Any]])
        #expect(models.map { $0["name"] as? String } == ["gemini", "gpt4o"])
        #expect(models.map { $0["available"] as? Bool } == [true, false])
        #expect(models.map { $0["demo"] as? Bool } == [true, false])
    }

    @Test func modelsFailure() async throws {
        var backend = ScriptedBackend()
        backend.models = .failure(ChorusError(.unavailable, "connection refused"))
        let stdout = RecordingOutput()
        let stderr = RecordingOutput()
        let code = try await command(["models"], as: ModelsCommand.self)
            .execute(backend: backend, standardOutput: stdout, standardError: stderr)
        #expect(code == 1)
        #expect(stdout.text == "")
        #expect(stderr.text == "error: UNAVAILABLE: connection refused\n")
    }

    @Test(arguments: [
        (HealthReport.Status.serving, Int32(0), "SERVING · version 1.2.3 · up 1h 01m 01s · 1 active call"),
        (.notServing, 2, "NOT_SERVING · version 1.2.3 · up 1h 01m 01s · 1 active call"),
        (.unknown, 2, "UNKNOWN · version 1.2.3 · up 1h 01m 01s · 1 active call"),
    ])
    func health(_ status: HealthReport.Status, _ expectedCode: Int32, _ expectedLine: String) async throws {
        var backend = ScriptedBackend()
        backend.healthReport = .success(
            HealthReport(status: status, version: "1.2.3", uptime: .seconds(3_661), activeCalls: 1))
        let stdout = RecordingOutput()
        let code = try await command(["health"], as: HealthCommand.self).execute(
            backend: backend, standardOutput: stdout)
        #expect(code == expectedCode)
        #expect(stdout.lines == [expectedLine])
    }

    @Test func healthJSONAndFailure() async throws {
        var backend = ScriptedBackend()
        backend.healthReport = .success(
            HealthReport(status: .serving, version: "", uptime: .milliseconds(1_500), activeCalls: 0))
        let stdout = RecordingOutput()
        let code = try await command(["health", "--json"], as: HealthCommand.self).execute(
            backend: backend, standardOutput: stdout)
        #expect(code == 0)
        #expect(stdout.lines == [#"{"status":"SERVING","version":"","uptime_ms":1500,"active_calls":0}"#])

        let failing = ScriptedBackend()
        let stderr = RecordingOutput()
        let failedCode = try await command(["health"], as: HealthCommand.self)
            .execute(backend: failing, standardOutput: RecordingOutput(), standardError: stderr)
        #expect(failedCode == 1)
        #expect(stderr.text == "error: UNAVAILABLE: no health scripted\n")
    }
}
