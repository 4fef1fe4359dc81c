import ArgumentParser
import ChorusCommandLine
import ChorusCore
import Testing

@Suite("Argument parsing")
struct ArgumentParsingTests {
    func analyze(_ arguments: [String]) throws -> AnalyzeCommand {
        let command = try ChorusCommand.parseAsRoot(["analyze"] + arguments)
        return try #require(command as? AnalyzeCommand)
    }

    @Test func defaults() throws {
        let command = try analyze(["What happens?"])
        #expect(command.question == "What happens?")
        #expect(command.modelList == [])
        #expect(command.json == false)
        #expect(command.plain == false)
        #expect(command.noColor == false)
        #expect(command.callTimeout == nil)
        #expect(command.connection.server == nil)
        #expect(
            try command.connection.resolvedAddress(environment: [:]) == ServerAddress(host: "127.0.0.1", port: 7070))

        let request = command.makeRequest()
        #expect(request.query == "What happens?")
        #expect(request.models == [])
        #expect(request.video.isEmpty)
        #expect(request.requestID == nil)
        #expect(request.options == AnalyzeOptions())
    }

    @Test func modelsAreSplitTrimmedAndDeduplicated() throws {
        #expect(try analyze(["q", "--models", "gemini,pegasus"]).modelList == ["gemini", "pegasus"])
        #expect(
            try analyze(["q", "-m", "gemini", "-m", " pegasus , gemini,,gpt4o "]).modelList == [
                "gemini", "pegasus", "gpt4o",
            ])
        #expect(try analyze(["q", "--models", "pegasus,gemini"]).makeRequest().models == ["pegasus", "gemini"])
    }

    @Test func everyOptionReachesTheRequest() throws {
        let command = try analyze([
            "  Describe the scene \n", "--models", "gemini", "--video-id", "v1", "--index-id", "i1",
            "--video-path", "clips/a.mp4", "--request-id", "my-req", "--timeout", "2.5",
            "--max-tokens", "300", "--temperature", "0.7", "--json", "--no-color", "--server", "[::1]:9000",
        ])
        let request = command.makeRequest()
        #expect(request.query == "Describe the scene")
        #expect(request.video == VideoReference(indexID: "i1", videoID: "v1", videoPath: "clips/a.mp4"))
        #expect(request.requestID == "my-req")
        #expect(request.options.maxOutputTokens == 300)
        #expect(request.options.temperature == 0.7)
        #expect(command.callTimeout == .milliseconds(2_500))
        #expect(command.json && command.noColor && !command.plain)
        #expect(try command.connection.resolvedAddress(environment: [:]) == ServerAddress(host: "::1", port: 9000))
    }

    @Test func serverComesFromFlagThenEnvironmentThenDefault() throws {
        let environment = ["CHORUS_SERVER": "10.0.0.5:9000"]
        let withoutFlag = try analyze(["q"])
        #expect(
            try withoutFlag.connection.resolvedAddress(environment: environment)
                == ServerAddress(host: "10.0.0.5", port: 9000))
        #expect(try withoutFlag.connection.resolvedAddress(environment: ["CHORUS_SERVER": ""]) == .default)
        let withFlag = try analyze(["q", "--server", "chorus.internal:7071"])
        #expect(
            try withFlag.connection.resolvedAddress(environment: environment)
                == ServerAddress(host: "chorus.internal", port: 7071))
        #expect(throws: ValidationError.self) {
            try withoutFlag.connection.resolvedAddress(environment: ["CHORUS_SERVER": "no-port"])
        }
    }

    @Test(arguments: [
        (["   "], "question must not be empty"),
        (["q", "--server", "localhost"], "missing port"),
        (["q", "--server", ":7070"], "missing host"),
        (["q", "--server", "localhost:0"], "port must be a number from 1 to 65535"),
        (["q", "--server", "localhost:70000"], "port must be a number from 1 to 65535"),
        (["q", "--server", "::1:7070"], "IPv6 addresses in brackets"),
        (["q", "--server", "[::1]"], "[::1]:7070"),
        (["q", "--timeout", "0"], "--timeout must be"),
        (["q", "--timeout=-3"], "--timeout must be"),
        (["q", "--timeout", "nan"], "--timeout must be"),
        (["q", "--timeout", "100000"], "--timeout must be"),
        (["q", "--max-tokens", "0"], "--max-tokens must be greater than 0"),
        (["q", "--temperature", "2.5"], "--temperature must be between 0 and 2"),
        (["q", "--models", ", ,"], "--models names no model"),
        (["q", "--json", "--plain"], "Choose one of --json and --plain"),
    ])
    func invalidInputIsRejectedWithAClearMessage(_ arguments: [String], _ expected: String) {
        do {
            _ = try ChorusCommand.parseAsRoot(["analyze"] + arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            let message = ChorusCommand.message(for: error)
            #expect(message.contains(expected), "\(message)")
            #expect(ChorusCommand.exitCode(for: error) == .validationFailure)
        }
    }

    @Test func timeoutThatIsNotANumberIsRejected() {
        #expect(throws: (any Error).self) {
            try ChorusCommand.parseAsRoot(["analyze", "q", "--timeout", "soon"])
        }
    }

    @Test func modelsAndHealthSubcommands() throws {
        let models = try #require(
            try ChorusCommand.parseAsRoot(["models", "--json", "--server", "h:1"]) as? ModelsCommand)
        #expect(models.json)
        #expect(try models.connection.resolvedAddress(environment: [:]) == ServerAddress(host: "h", port: 1))
        let health = try #require(try ChorusCommand.parseAsRoot(["health"]) as? HealthCommand)
        #expect(!health.json)
        #expect(health.connection.server == nil)
    }

    @Test(arguments: [
        (false, false, true, OutputMode.terminal),
        (false, false, false, .plain),
        (false, true, true, .plain),
        (true, false, true, .json),
        (true, false, false, .json),
    ])
    func outputModeSelection(json: Bool, plain: Bool, terminal: Bool, expected: OutputMode) {
        #expect(OutputMode.resolve(json: json, plain: plain, standardOutputIsTerminal: terminal) == expected)
    }

    @Test func colorsFollowFlagAndEnvironment() {
        #expect(TerminalInfo.colorsEnabled(noColorFlag: false, environment: [:]))
        #expect(!TerminalInfo.colorsEnabled(noColorFlag: true, environment: [:]))
        #expect(!TerminalInfo.colorsEnabled(noColorFlag: false, environment: ["NO_COLOR": "1"]))
        #expect(TerminalInfo.colorsEnabled(noColorFlag: false, environment: ["NO_COLOR": ""]))
        #expect(!TerminalInfo.colorsEnabled(noColorFlag: false, environment: ["TERM": "dumb"]))
    }

    @Test func terminalSizeFromEnvironment() {
        #expect(TerminalInfo.size(columnsVariable: "132", linesVariable: "40") == TerminalSize(columns: 132, rows: 40))
        #expect(TerminalInfo.size(columnsVariable: nil, linesVariable: nil) == TerminalSize(columns: 100, rows: 24))
        #expect(TerminalInfo.size(columnsVariable: "wide", linesVariable: "-3") == TerminalSize(columns: 100, rows: 24))
    }

    @Test func serverAddressDescriptionRoundTrips() throws {
        for text in ["127.0.0.1:7070", "[::1]:7070", "chorus.internal:443"] {
            #expect(try ServerAddress(parsing: text).description == text)
        }
    }
}
