public import ArgumentParser

/// `chorusd`: the Chorus server.
///
/// The `chorusd` executable only calls ``launch()``; the subcommands (`serve`, the default, and
/// `bridge`) and the way they read flags and environment variables live here so that tests can
/// parse them without starting a server.
///
/// ```swift
/// await ChorusDaemon.launch()   // Sources/chorusd/main.swift
/// ```
public struct ChorusDaemon: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "chorusd",
        abstract: "Runs several AI models on one question about a video at once and streams every answer back.",
        discussion: """
            With no arguments, serves the binary RPC protocol on 127.0.0.1:7070 with the built-in \
            registry (gemini, pegasus and gpt4o served by offline demo models).
            Every option can also be set from the environment variable named in its help.
            """,
        version: "0.1.0",
        subcommands: [ServeCommand.self, BridgeCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    public init() {}

    /// Parses the process's arguments and runs the chosen subcommand until it is shut down.
    public static func launch() async {
        await main()
    }
}
