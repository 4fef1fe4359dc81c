public import ChorusCore

/// A transfer that failed below HTTP (DNS, connect, TLS, timeout, aborted), with curl's code.
public struct CurlError: Error, Sendable, Hashable, CustomStringConvertible, ChorusErrorConvertible {
    /// The `CURLcode` value.
    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "curl error \(code): \(message)" }

    /// Timeouts are DEADLINE_EXCEEDED; every other transport failure is UNAVAILABLE (retryable).
    public var chorusError: ChorusError {
        // 28 = CURLE_OPERATION_TIMEDOUT.
        if code == 28 { return ChorusError(.deadlineExceeded, "upstream timed out: \(message)") }
        return ChorusError(.unavailable, "upstream connection failed: \(message)")
    }
}
