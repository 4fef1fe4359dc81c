/// Checks a request's `video_path` before any model runs (the server's media root policy).
public protocol VideoPathValidator: Sendable {
    /// Returns the canonical path of the file, or throws ``ChorusError`` (`INVALID_ARGUMENT`) naming `video_path`.
    func validateVideoPath(_ path: String) throws -> String
}
