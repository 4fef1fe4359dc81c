/// An error that ends a call or a model's stream, with a gRPC-compatible status code.
///
/// Chorus reports every failure with one of the 17 gRPC status codes so that clients can tell
/// "fix your request" (``Code/invalidArgument``) from "try again later" (``Code/unavailable``).
///
/// ```swift
/// throw ChorusError(.invalidArgument, "query must not be empty")
/// ```
public struct ChorusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status code.
    public var code: Code
    /// A human-readable message. It names the offending field when a client made the mistake.
    public var message: String
    /// Whether repeating the same request later may succeed.
    public var retryable: Bool
    /// A suggested delay before retrying, when the failing party gave one.
    public var retryAfter: Duration?

    public init(_ code: Code, _ message: String, retryable: Bool? = nil, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.retryable = retryable ?? code.isRetryableByDefault
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }
}

extension ChorusError {
    /// A gRPC status code. Wraps an integer so unknown codes received from a newer peer survive.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The numeric value used on the wire (0...16 are defined).
        public let rawValue: UInt32

        public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let ok = Code(rawValue: 0)
        public static let cancelled = Code(rawValue: 1)
        public static let unknown = Code(rawValue: 2)
        public static let invalidArgument = Code(rawValue: 3)
        public static let deadlineExceeded = Code(rawValue: 4)
        public static let notFound = Code(rawValue: 5)
        public static let alreadyExists = Code(rawValue: 6)
        public static let permissionDenied = Code(rawValue: 7)
        public static let resourceExhausted = Code(rawValue: 8)
        public static let failedPrecondition = Code(rawValue: 9)
        public static let aborted = Code(rawValue: 10)
        public static let outOfRange = Code(rawValue: 11)
        public static let unimplemented = Code(rawValue: 12)
        public static let `internal` = Code(rawValue: 13)
        public static let unavailable = Code(rawValue: 14)
        public static let dataLoss = Code(rawValue: 15)
        public static let unauthenticated = Code(rawValue: 16)

        private static let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
            "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
            "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
            "UNAUTHENTICATED",
        ]

        /// The canonical upper-case name, e.g. `INVALID_ARGUMENT`.
        public var name: String {
            rawValue < Code.names.count ? Code.names[Int(rawValue)] : "CODE_\(rawValue)"
        }

        public var description: String { name }

        /// Parses a canonical name such as `DEADLINE_EXCEEDED`.
        public init?(name: String) {
            guard let index = Code.names.firstIndex(of: name.uppercased()) else { return nil }
            self.rawValue = UInt32(index)
        }

        /// Codes that describe a transient condition.
        public var isRetryableByDefault: Bool {
            self == .unavailable || self == .resourceExhausted || self == .deadlineExceeded || self == .aborted
        }
    }
}

extension ChorusError {
    /// Maps any error to a ``ChorusError``; cancellation becomes ``Code/cancelled``.
    public init(from error: any Error) {
        if let error = error as? ChorusError {
            self = error
        } else if let convertible = error as? any ChorusErrorConvertible {
            self = convertible.chorusError
        } else if error is CancellationError {
            self = ChorusError(.cancelled, "the call was cancelled")
        } else {
            self = ChorusError(.unknown, String(describing: error))
        }
    }
}

/// A domain error that knows which ``ChorusError`` it corresponds to.
public protocol ChorusErrorConvertible: Error {
    var chorusError: ChorusError { get }
}
