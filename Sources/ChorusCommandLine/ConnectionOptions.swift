public import ArgumentParser

/// Options every subcommand shares: where the server is.
///
/// The address comes from `--server host:port`, else from the `CHORUS_SERVER` environment
/// variable, else it is `127.0.0.1:7070`.
///
/// ```swift
/// struct Ping: AsyncParsableCommand {
///     @OptionGroup var connection: ConnectionOptions
///     func run() async throws {
///         let address = try connection.resolvedAddress(environment: ProcessInfo.processInfo.environment)
///     }
/// }
/// ```
public struct ConnectionOptions: ParsableArguments {
    /// The environment variable consulted when `--server` is absent.
    public static let environmentVariable = "CHORUS_SERVER"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Server address (default: $\(ConnectionOptions.environmentVariable), else \(ServerAddress.default)).",
            valueName: "host:port"
        )
    )
    public var server: String?

    public init() {}

    public func validate() throws {
        if let server {
            do {
                _ = try ServerAddress(parsing: server)
            } catch {
                throw ValidationError("--server: \(error)")
            }
        }
    }

    /// The address to connect to. Throws a `ValidationError` when `CHORUS_SERVER` is malformed
    /// (a malformed `--server` is already rejected while parsing).
    public func resolvedAddress(environment: [String: String]) throws -> ServerAddress {
        if let server {
            do {
                return try ServerAddress(parsing: server)
            } catch {
                throw ValidationError("--server: \(error)")
            }
        }
        if let value = environment[Self.environmentVariable], !value.isEmpty {
            do {
                return try ServerAddress(parsing: value)
            } catch {
                throw ValidationError("\(Self.environmentVariable): \(error)")
            }
        }
        return .default
    }
}
