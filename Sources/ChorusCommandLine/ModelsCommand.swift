public import ArgumentParser
public import ChorusCore
import Foundation

/// `chorus models`: lists the models the server can run.
///
/// ```sh
/// chorus models
/// chorus models --json | jq -r '.models[] | select(.available) | .name'
/// ```
public struct ModelsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the models the server can run.",
        discussion: "Exit status: 0 on success, 1 when the server cannot be asked."
    )

    @OptionGroup public var connection: ConnectionOptions

    @Flag(help: "Print {\"models\":[...]} as one JSON line.")
    public var json = false

    @Flag(name: .customLong("no-color"), help: "Do not use colours (also off when NO_COLOR is set).")
    public var noColor = false

    public init() {}

    public func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let backend = ChorusClientBackend(address: try connection.resolvedAddress(environment: environment))
        let terminal = TerminalInfo.standardOutputIsTerminal
        let colors = terminal && TerminalInfo.colorsEnabled(noColorFlag: noColor, environment: environment)
        // On a terminal, long descriptions are cut to the width instead of wrapping the table.
        let width = terminal ? TerminalInfo.size(environment: environment).columns - 1 : nil
        let exitCode = await execute(backend: backend, style: TerminalStyle(colors: colors), maxWidth: width)
        await backend.close()
        if exitCode != ChorusExitCode.success {
            throw ExitCode(exitCode)
        }
    }

    /// Fetches and prints the model list; returns the exit code.
    public func execute(
        backend: some ChorusCLIBackend,
        style: TerminalStyle = TerminalStyle(colors: false),
        maxWidth: Int? = nil,
        standardOutput: any TextOutput = FileDescriptorOutput.standardOutput,
        standardError: any TextOutput = FileDescriptorOutput.standardError
    ) async -> Int32 {
        let models: [ModelInfo]
        do {
            models = try await backend.listModels()
        } catch {
            let error = ChorusError(from: error)
            standardError.write("error: \(error.code.name): \(error.message)\n")
            return ChorusExitCode.callFailed
        }
        if json {
            standardOutput.write(ModelInfo.jsonLine(for: models) + "\n")
        } else {
            standardOutput.write(ModelsCommand.table(models, style: style, maxWidth: maxWidth).joined(separator: "\n") + "\n")
        }
        return ChorusExitCode.success
    }

    /// The model list as a table:
    ///
    /// ```text
    /// Name    Provider  Kind  Available  Description
    /// ──────  ────────  ────  ─────────  ────────────────────────
    /// gemini  demo      demo  yes        Fast general-purpose demo
    /// ```
    public static func table(_ models: [ModelInfo], style: TerminalStyle, maxWidth: Int? = nil) -> [String] {
        guard !models.isEmpty else { return ["(the server has no models)"] }
        var table = TextTable(columns: [
            .init("Name"), .init("Provider"), .init("Kind"), .init("Available"), .init("Description"),
        ])
        for model in models {
            let available = model.available
            table.append([
                TextTable.Cell(model.name, decorate: { style, text in style.bold(text) }),
                TextTable.Cell(model.provider),
                TextTable.Cell(model.demo ? "demo" : "real"),
                TextTable.Cell(
                    available ? "yes" : "no",
                    decorate: { style, text in available ? style.green(text) : style.red(text) }),
                TextTable.Cell(TextLayout.sanitize(model.description, tabReplacement: " ").replacing("\n", with: " ")),
            ])
        }
        return table.render(style: style, maxWidth: maxWidth)
    }
}
