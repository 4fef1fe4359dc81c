public import ArgumentParser

/// The `chorus` command line: one question, several models, every answer streamed live.
///
/// `Sources/chorus/main.swift` only runs it:
///
/// ```swift
/// import ChorusCommandLine
/// await ChorusCommand.main()
/// ```
///
/// ```sh
/// chorus analyze "What happens in this clip?" --models gemini,pegasus
/// chorus models --server 10.0.0.5:7070
/// CHORUS_SERVER=10.0.0.5:7070 chorus health
/// ```
public struct ChorusCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "Ask several AI models one question about a video and compare their answers live.",
        discussion: "The server address comes from --server, else $CHORUS_SERVER, else 127.0.0.1:7070.",
        subcommands: [AnalyzeCommand.self, ModelsCommand.self, HealthCommand.self]
    )

    public init() {}
}

extension ChorusCommand {
    /// Parses the process arguments (or `arguments`), runs the chosen subcommand and exits with its
    /// status. This is what `main.swift` calls.
    ///
    /// It exists because from top-level code in `main.swift`, `ChorusCommand.main()` resolves to
    /// `ParsableCommand`'s synchronous overload, which refuses to run async subcommands; from an
    /// async function the compiler picks `AsyncParsableCommand.main`.
    ///
    /// ```swift
    /// await ChorusCommand.launch()
    /// ```
    public static func launch(_ arguments: [String]? = nil) async {
        await main(arguments)
    }
}
