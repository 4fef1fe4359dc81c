public import ArgumentParser
public import ChorusCore
import Foundation

/// `chorus health`: asks the server whether it is serving.
///
/// ```sh
/// chorus health && echo up
/// ```
public struct HealthCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that the server is up and serving.",
        discussion:
            "Exit status: 0 when serving, 2 when the server answers but is not serving, 1 when it cannot be reached."
    )

    @OptionGroup public var connection: ConnectionOptions

    @Flag(help: "Print the report as one JSON line.")
    public var json = false

    public init() {}

    public func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let backend = ChorusClientBackend(address: try connection.resolvedAddress(environment: environment))
        let exitCode = await execute(backend: backend)
        await backend.close()
        if exitCode != ChorusExitCode.success {
            throw ExitCode(exitCode)
        }
    }

    /// Fetches and prints the health report; returns the exit code.
    public func execute(
        backend: some ChorusCLIBackend,
        standardOutput: any TextOutput = FileDescriptorOutput.standardOutput,
        standardError: any TextOutput = FileDescriptorOutput.standardError
    ) async -> Int32 {
        let report: HealthReport
        do {
            report = try await backend.health()
        } catch {
            let error = ChorusError(from: error)
            standardError.write("error: \(error.code.name): \(error.message)\n")
            return ChorusExitCode.callFailed
        }
        standardOutput.write((json ? report.jsonLine() : HealthCommand.summary(report)) + "\n")
        return report.status == .serving ? ChorusExitCode.success : ChorusExitCode.notServing
    }

    /// `SERVING · version 0.1.0 · up 5h 02m 03s · 2 active calls`.
    public static func summary(_ report: HealthReport) -> String {
        let calls = report.activeCalls == 1 ? "1 active call" : "\(report.activeCalls) active calls"
        let version = report.version.isEmpty ? "unknown" : report.version
        return "\(report.status.name) · version \(version) · up \(Formatting.uptime(report.uptime)) · \(calls)"
    }
}
