public import ArgumentParser
public import ChorusCore
import Foundation

/// `chorus analyze "question" --models gemini,pegasus`: asks several models at once and shows every
/// answer while it is generated.
///
/// ```sh
/// chorus analyze "What happens in this clip?" --models gemini,pegasus --video-id v1 --index-id i1
/// chorus analyze "Summarise the video" --json | jq -c 'select(.event_type == "model_end")'
/// ```
public struct AnalyzeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Ask several models one question about a video and stream their answers.",
        discussion: """
            Output: live side-by-side columns and a comparison table on a terminal; plain \
            '[model] text' lines when piped or with --plain; one JSON object per event with --json.

            Exit status: 0 when at least one model answered, 2 when every model failed, 1 when the \
            call failed (server unreachable, request rejected, timeout), 130 after Ctrl-C, 64 for \
            invalid arguments.
            """
    )

    @OptionGroup public var connection: ConnectionOptions

    @Argument(help: "The question to ask about the video.")
    public var question: String

    @Option(
        name: [.customShort("m"), .long],
        help: ArgumentHelp(
            "Models to run, comma-separated or repeated (default: the server recommends).", valueName: "names")
    )
    public var models: [String] = []

    @Option(name: .customLong("video-id"), help: "TwelveLabs video id.")
    public var videoID: String?

    @Option(name: .customLong("index-id"), help: "TwelveLabs index id.")
    public var indexID: String?

    @Option(name: .customLong("video-path"), help: "Video file path under the server's media root.")
    public var videoPath: String?

    @Option(name: .customLong("request-id"), help: "Request id to use instead of a server-generated one.")
    public var requestID: String?

    @Option(help: ArgumentHelp("Deadline for the whole call (default: none).", valueName: "seconds"))
    public var timeout: Double?

    @Option(name: .customLong("max-tokens"), help: "Maximum output tokens per model.")
    public var maxTokens: Int?

    @Option(help: "Sampling temperature, 0 to 2.")
    public var temperature: Double?

    @Flag(help: "Print one JSON object per event (the SSE contract).")
    public var json = false

    @Flag(help: "Print plain '[model] text' lines even on a terminal.")
    public var plain = false

    @Flag(name: .customLong("no-color"), help: "Do not use colours (also off when NO_COLOR is set).")
    public var noColor = false

    public init() {}

    public func validate() throws {
        if trimmedQuestion.isEmpty {
            throw ValidationError("The question must not be empty.")
        }
        if json && plain {
            throw ValidationError("Choose one of --json and --plain.")
        }
        if let timeout, !(timeout.isFinite && timeout > 0 && timeout <= 86_400) {
            throw ValidationError("--timeout must be a number of seconds greater than 0 and at most 86400.")
        }
        if let maxTokens, maxTokens <= 0 {
            throw ValidationError("--max-tokens must be greater than 0.")
        }
        if let temperature, !(temperature.isFinite && (0...2).contains(temperature)) {
            throw ValidationError("--temperature must be between 0 and 2.")
        }
        if !models.isEmpty && modelList.isEmpty {
            throw ValidationError("--models names no model.")
        }
    }

    /// `--models` split on commas, trimmed, without empty entries or repeats, in the order given.
    public var modelList: [String] {
        var seen = Set<String>()
        return models.flatMap { $0.split(separator: ",") }
            .map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// The call-level deadline from `--timeout`.
    public var callTimeout: Duration? {
        timeout.map { Duration.milliseconds(Int64(($0 * 1_000).rounded())) }
    }

    /// The request this command line describes.
    public func makeRequest() -> AnalyzeRequest {
        AnalyzeRequest(
            query: trimmedQuestion,
            models: modelList,
            video: VideoReference(indexID: indexID, videoID: videoID, videoPath: videoPath),
            requestID: requestID,
            options: AnalyzeOptions(maxOutputTokens: maxTokens, temperature: temperature)
        )
    }

    private var trimmedQuestion: String {
        question.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let address = try connection.resolvedAddress(environment: environment)
        let mode = OutputMode.resolve(
            json: json, plain: plain, standardOutputIsTerminal: TerminalInfo.standardOutputIsTerminal)
        let colors = TerminalInfo.colorsEnabled(noColorFlag: noColor, environment: environment)
        let backend = ChorusClientBackend(address: address)
        let (request, timeout) = (makeRequest(), callTimeout)

        // The call runs in its own task so that Ctrl-C can cancel exactly that task; cancellation
        // then reaches the server through the client's stream.
        let task = Task {
            await AnalyzeCommand.execute(
                request, timeout: timeout, backend: backend, mode: mode, colors: colors, environment: environment)
        }
        let monitor = await InterruptMonitor.install(emergencyOutput: mode == .terminal ? TerminalStyle.showCursor : "")
        {
            task.cancel()
        }
        let exitCode = await task.value
        monitor.uninstall()
        await backend.close()
        if exitCode != ChorusExitCode.success {
            throw ExitCode(exitCode)
        }
    }

    /// Runs the call with the renderer for `mode` and reports a failure on `standardError`.
    /// Everything `run()` does except signal handling, so tests can drive it with a fake backend.
    ///
    /// ```swift
    /// let code = await AnalyzeCommand.execute(command.makeRequest(), timeout: nil, backend: fake,
    ///                                         mode: .plain, colors: false, environment: [:])
    /// ```
    ///
    /// - Returns: the exit code (see ``AnalyzeOutcome``).
    public static func execute(
        _ request: AnalyzeRequest,
        timeout: Duration?,
        backend: some ChorusCLIBackend,
        mode: OutputMode,
        colors: Bool,
        environment: [String: String],
        standardOutput: any TextOutput = FileDescriptorOutput.standardOutput,
        standardError: any TextOutput = FileDescriptorOutput.standardError,
        terminalSize: TerminalSize? = nil
    ) async -> Int32 {
        let outcome: AnalyzeOutcome
        switch mode {
        case .json:
            outcome = await AnalyzeRunner.run(
                request, timeout: timeout, backend: backend, renderer: JSONRenderer(output: standardOutput))
        case .plain:
            outcome = await AnalyzeRunner.run(
                request, timeout: timeout, backend: backend, renderer: PlainRenderer(output: standardOutput))
        case .terminal:
            let configuration = TerminalRenderer.Configuration(
                size: terminalSize ?? TerminalInfo.size(environment: environment),
                style: TerminalStyle(colors: colors)
            )
            let renderer = TerminalRenderer(output: standardOutput, configuration: configuration)
            outcome = await AnalyzeRunner.run(request, timeout: timeout, backend: backend, renderer: renderer)
        }
        switch outcome {
        case .completed:
            break
        case .failed(let error):
            standardError.write("error: \(error.code.name): \(error.message)\n")
        case .interrupted:
            standardError.write("interrupted: the call was cancelled\n")
        }
        return outcome.exitCode
    }
}
