/// A `host:port` pair naming a chorusd server.
///
/// Accepts `127.0.0.1:7070`, `localhost:7070`, `chorus.internal:7070` and bracketed IPv6 such
/// as `[::1]:7070`.
///
/// ```swift
/// let address = try ServerAddress(parsing: "[::1]:7070")   // host "::1", port 7070
/// ```
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// A host name or IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port, 1...65535.
    public var port: Int

    /// An address from parts that are already valid.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `127.0.0.1:7070`, where chorusd listens by default.
    public static let `default` = ServerAddress(host: "127.0.0.1", port: 7070)

    /// Parses `host:port`; the error message says what is wrong and shows the expected form.
    public init(parsing text: String) throws(ServerAddressError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ServerAddressError(input: text, reason: "an IPv6 address must look like [::1]:7070")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ServerAddressError(input: text, reason: "missing port")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw ServerAddressError(input: text, reason: "put IPv6 addresses in brackets, e.g. [::1]:7070")
            }
        }
        guard !hostPart.isEmpty else {
            throw ServerAddressError(input: text, reason: "missing host")
        }
        guard hostPart.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "/" && $0 != "@" })
        else {
            throw ServerAddressError(
                input: text, reason: "the host contains characters that cannot appear in a host name")
        }
        guard let port = Int(portPart), (1...65_535).contains(port) else {
            throw ServerAddressError(input: text, reason: "the port must be a number from 1 to 65535")
        }
        self.init(host: String(hostPart), port: port)
    }

    /// `host:port`, with IPv6 hosts in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// A server address that could not be parsed.
public struct ServerAddressError: Error, Hashable, CustomStringConvertible {
    /// The text that was parsed.
    public var input: String
    /// What is wrong with it.
    public var reason: String

    public var description: String {
        "invalid server address '\(input)': \(reason) (expected host:port, e.g. 127.0.0.1:7070)"
    }
}
