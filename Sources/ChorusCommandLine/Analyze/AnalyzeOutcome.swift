public import ChorusCore

/// How an `analyze` call ended, and the process exit code that follows from it.
///
/// Exit-code policy (documented in `chorus analyze --help`):
///
/// | Code | Meaning |
/// | --- | --- |
/// | 0 | the call completed and at least one model succeeded (partial success is success: the answers are there) |
/// | 1 | the call itself failed: connection refused or lost, request rejected, deadline exceeded, stream ended early |
/// | 2 | the call completed but every model failed, so there is no answer at all |
/// | 64 | invalid command line (from swift-argument-parser's `ValidationError`) |
/// | 130 | interrupted with Ctrl-C (128 + SIGINT, as shells report it) |
public enum AnalyzeOutcome: Sendable, Hashable {
    /// The stream ended with `complete`.
    case completed(StreamComplete)
    /// The call failed as a whole.
    case failed(ChorusError)
    /// The user interrupted the call.
    case interrupted

    /// The process exit code for this outcome (see the table above).
    public var exitCode: Int32 {
        switch self {
        case .completed(let complete):
            return complete.succeeded.isEmpty ? ChorusExitCode.allModelsFailed : ChorusExitCode.success
        case .failed:
            return ChorusExitCode.callFailed
        case .interrupted:
            return ChorusExitCode.interrupted
        }
    }
}

/// The exit codes `chorus` uses; see ``AnalyzeOutcome`` for when each applies.
public enum ChorusExitCode {
    /// The call completed and at least one model answered.
    public static let success: Int32 = 0
    /// The call (or `models`/`health`) failed as a whole.
    public static let callFailed: Int32 = 1
    /// The call completed but no model answered.
    public static let allModelsFailed: Int32 = 2
    /// `chorus health` when the server answers but is not serving.
    public static let notServing: Int32 = 2
    /// Ctrl-C: 128 + SIGINT.
    public static let interrupted: Int32 = 130
}
