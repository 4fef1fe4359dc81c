import ArgumentParser
import ChorusCore
import ChorusHTTPBridge
import ChorusRPCClient
import ChorusRPCServer
import ChorusWire
import Logging
import Testing

@testable import ChorusDaemonCommands

/// `chorusd serve`'s settings: flags win over environment variables, which win over defaults, and a
/// value that cannot be used stops chorusd with a message naming it (tools/settings-test.sh checks
/// the same through the real executable, exit status and all).
@Suite("chorusd serve settings")
struct DaemonSettingsTests {
    func settings(_ arguments: [String], _ environment: [String: String] = [:]) throws -> (DaemonSettings, ChorusHTTPBridge.Configuration?) {
        let command = try ServeCommand.parse(arguments)
        return (try DaemonSettings(command: command, environment: environment), try command.http.configuration(environment: environment))
    }

    /// The message chorusd would print for `arguments` with `environment`, nil when they are accepted.
    func refusal(_ arguments: [String], _ environment: [String: String] = [:]) -> String? {
        do {
            _ = try settings(arguments, environment)
            return nil
        } catch {
            return ServeCommand.message(for: error)
        }
    }

    @Test("with nothing set: the documented defaults")
    func defaults() throws {
        let (settings, http) = try settings([])
        #expect(settings.rpc.host == "127.0.0.1" && settings.rpc.port == 7070)
        #expect(settings.rpc.maxFramePayload == ChorusRPCServer.Configuration().maxFramePayload)
        #expect(settings.rpc.callExecutor == .eventLoop)
        #expect(settings.limits == ServiceLimits())
        #expect(settings.logLevel == .info)
        #expect(settings.registryPath == nil && settings.mediaRootPath == nil)
        let bridge = try #require(http)
        #expect(bridge.host == "127.0.0.1" && bridge.port == 8080)
        #expect(bridge.maxConcurrentCalls == ChorusHTTPBridge.Configuration().maxConcurrentCalls)
        #expect(bridge.allowedOrigins.isEmpty)
    }

    @Test("a flag wins over its environment variable; a variable is used when the flag is absent")
    func precedence() throws {
        let environment = [
            "CHORUS_MAX_MODELS": "5", "CHORUS_MAX_QUERY_LENGTH": "120", "CHORUS_RPC_ADDRESS": "0.0.0.0:9000",
            "CHORUS_HTTP_MAX_CALLS": "7", "CHORUS_LOG_LEVEL": "DEBUG", "CHORUS_ALLOWED_ORIGINS": "https://a.example, https://b.example",
        ]
        let (settings, http) = try settings(["--max-models", "3", "--http-max-calls", "9"], environment)
        #expect(settings.limits.maxModelsPerCall == 3)
        #expect(settings.limits.maxQueryLength == 120)
        #expect(settings.rpc.host == "0.0.0.0" && settings.rpc.port == 9000)
        #expect(settings.logLevel == .debug)
        #expect(http?.maxConcurrentCalls == 9)
        #expect(http?.allowedOrigins == ["https://a.example", "https://b.example"])
        // Repeated flags replace the variable's list.
        let (_, flagged) = try self.settings(["--allow-origin", "*"], environment)
        #expect(flagged?.allowedOrigins == ["*"])
    }

    @Test("blank variables count as unset, padded numbers are read")
    func blankAndPadded() throws {
        let (settings, http) = try settings([], [
            "CHORUS_HTTP_MAX_CALLS": " 50 ", "CHORUS_DRAIN_GRACE": "", "CHORUS_MAX_MODELS": "  ", "CHORUS_HEARTBEAT": "\t5",
            "CHORUS_REGISTRY": "  ", "CHORUS_RPC_ADDRESS": " 0.0.0.0:9000 ",
        ])
        #expect(settings.registryPath == nil)
        #expect(settings.rpc.host == "0.0.0.0" && settings.rpc.port == 9000)
        #expect(http?.maxConcurrentCalls == 50)
        #expect(settings.rpc.drainGracePeriod == ChorusRPCServer.Configuration().drainGracePeriod)
        #expect(settings.limits.maxModelsPerCall == ServiceLimits().maxModelsPerCall)
        #expect(http?.heartbeatInterval == .seconds(5))
    }

    @Test("seconds become durations; 0 turns the HTTP idle timeout off; flush delay 0 writes at once")
    func durations() throws {
        let (settings, http) = try settings([
            "--replay-retention", "0.25", "--http-idle-timeout", "0", "--drain-grace", "2.5", "--resume-grace", "10",
            "--flush-delay-us", "0",
        ])
        #expect(http?.replayRetention == .milliseconds(250))
        #expect(http?.idleConnectionTimeout == nil)
        #expect(http?.resumeGracePeriod == .seconds(10))
        #expect(settings.rpc.drainGracePeriod == .milliseconds(2_500))
        #expect(settings.rpc.flushCoalescing == .immediate)
        let (delayed, _) = try self.settings(["--flush-delay-us", "40", "--call-executor", "global-pool"])
        #expect(delayed.rpc.flushCoalescing == FlushCoalescing(maxDelay: .microseconds(40)))
        #expect(delayed.rpc.callExecutor == .globalPool)
    }

    @Test("--http-address off (or CHORUS_HTTP_ADDRESS=off) turns the bridge off")
    func bridgeOff() throws {
        #expect(try settings(["--http-address", "off"]).1 == nil)
        #expect(try settings([], ["CHORUS_HTTP_ADDRESS": "OFF"]).1 == nil)
        let (_, http) = try settings(["--http-address", "[::1]:0"])
        #expect(http?.host == "::1" && http?.port == 0)
    }

    @Test(
        "an unusable value stops chorusd with a message naming it",
        arguments: [
            ([], ["CHORUS_HTTP_MAX_CALLS": "1k"], "CHORUS_HTTP_MAX_CALLS='1k' is not a positive integer (HTTP max calls)"),
            ([], ["CHORUS_HEARTBEAT": "inf"], "CHORUS_HEARTBEAT='inf' is not a number of seconds"),
            ([], ["CHORUS_DRAIN_GRACE": "soon"], "CHORUS_DRAIN_GRACE='soon' is not a number of seconds"),
            ([], ["CHORUS_RESUME_GRACE": "nan"], "CHORUS_RESUME_GRACE='nan' is not a number of seconds"),
            ([], ["CHORUS_MAX_FRAME_BYTES": "big"], "CHORUS_MAX_FRAME_BYTES='big' is not a positive integer (max frame bytes)"),
            ([], ["CHORUS_MAX_MODELS": "0"], "CHORUS_MAX_MODELS='0' is not a positive integer (max models)"),
            ([], ["CHORUS_CALL_EXECUTOR": "threads"], "unknown call executor 'threads'; use event-loop, global-pool"),
            ([], ["CHORUS_LOG_LEVEL": "loud"], "unknown log level 'loud'"),
            ([], ["CHORUS_FLUSH_DELAY_US": "-1"], "flush delay must be zero or more microseconds, got -1"),
            ([], ["CHORUS_FLUSH_DELAY_US": "fast"], "CHORUS_FLUSH_DELAY_US='fast' is not an integer"),
            (["--replay-retention", "1e300"], [:], "replay retention must be a finite number of seconds"),
            (["--http-max-calls", "0"], [:], "HTTP max calls must be a positive integer, got 0"),
            (["--heartbeat", "0"], [:], "heartbeat must be positive seconds"),
            (["--resume-grace", "3601"], [:], "resume grace must be between 0 and 3600 seconds"),
            (["--listen-backlog", "4294967296"], [:], "listen backlog must be at most 2147483647"),
            (["--rpc-address", "localhost"], [:], "RPC address 'localhost' must be host:port"),
            (["--http-address", "127.0.0.1:70000"], [:], "HTTP address '127.0.0.1:70000' must be host:port"),
            (["--max-models", "many"], [:], "max-models"),
        ] as [([String], [String: String], String)])
    func refused(arguments: [String], environment: [String: String], message: String) {
        let printed = refusal(arguments, environment)
        #expect(printed?.contains(message) == true, "\(arguments) \(environment): \(printed ?? "accepted")")
    }
}

@Suite("chorusd bridge settings")
struct BridgeSettingsTests {
    func settings(_ arguments: [String], _ environment: [String: String] = [:]) throws -> BridgeSettings {
        try BridgeSettings(command: BridgeCommand.parse(arguments), environment: environment)
    }

    @Test("the upstream from the flag or CHORUS_UPSTREAM; the forwarding client's defaults")
    func upstream() throws {
        let settings = try settings(["--upstream", "10.0.0.2:7070"])
        #expect(settings.host == "10.0.0.2" && settings.port == 7070)
        #expect(settings.client.maxConnections == 64)
        #expect(settings.client.idleConnectionTimeout == .seconds(30))
        #expect(settings.bridge.port == 8080)
        let fromEnvironment = try self.settings([], ["CHORUS_UPSTREAM": "chorus.internal:7000", "CHORUS_UPSTREAM_CONNECTIONS": "8"])
        #expect(fromEnvironment.host == "chorus.internal" && fromEnvironment.port == 7000)
        #expect(fromEnvironment.client.maxConnections == 8)
        let quiet = try self.settings(["--upstream", "h:1", "--upstream-idle-timeout", "0", "--drain-grace", "1"])
        #expect(quiet.client.idleConnectionTimeout == nil)
        #expect(quiet.bridge.drainGracePeriod == .seconds(1))
    }

    @Test(
        "an unusable value stops the bridge with a message naming it",
        arguments: [
            ([], [:], "--upstream host:port is required"),
            ([], ["CHORUS_UPSTREAM": ""], "--upstream host:port is required"),
            (["--upstream", "h:1", "--http-address", "off"], [:], "the bridge needs an HTTP address"),
            (["--upstream", "h:1", "--upstream-connections", "0"], [:], "upstream connections must be a positive integer, got 0"),
            (["--upstream", "h:1", "--upstream-idle-timeout=-1"], [:], "upstream idle timeout must be zero or more seconds"),
            (["--upstream", "h:1"], ["CHORUS_UPSTREAM_IDLE_TIMEOUT": "1e12"], "CHORUS_UPSTREAM_IDLE_TIMEOUT='1e12' is not a number of seconds"),
            (["--upstream", "h:1", "--log-level", "chatty"], [:], "unknown log level 'chatty'"),
            (["--upstream", "h"], [:], "upstream 'h' must be host:port"),
        ] as [([String], [String: String], String)])
    func refused(arguments: [String], environment: [String: String], message: String) {
        do {
            _ = try settings(arguments, environment)
            Issue.record("\(arguments) \(environment) accepted")
        } catch {
            let printed = BridgeCommand.message(for: error)
            #expect(printed.contains(message), "\(arguments) \(environment): \(printed)")
        }
    }

    @Test("chorusd picks serve by default and bridge by name")
    func subcommands() throws {
        #expect(try ChorusDaemon.parseAsRoot([]) is ServeCommand)
        #expect(try ChorusDaemon.parseAsRoot(["--max-models", "2"]) is ServeCommand)
        #expect(try ChorusDaemon.parseAsRoot(["bridge", "--upstream", "h:1"]) is BridgeCommand)
    }
}
