public import ChorusCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory a server reads local videos from; every `video_path` must resolve inside it.
///
/// Paths are canonicalized with `realpath(3)`, so `..` segments and symlinks that lead outside
/// the root are rejected, while symlinks that stay inside are allowed. Error messages name the
/// `video_path` field and never reveal the server's own root directory.
///
/// ```swift
/// let root = try MediaRoot(path: "/srv/media")
/// let file = try root.resolve("clips/cat.mp4")   // "/srv/media/clips/cat.mp4"
/// ```
public struct MediaRoot: Sendable, Hashable, VideoPathValidator {
    /// The canonical (symlink-free, absolute) path of the root directory.
    public var path: String

    /// Opens a media root. Throws `FAILED_PRECONDITION` when `path` is not an existing directory.
    public init(path: String) throws(ChorusError) {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw ChorusError(.failedPrecondition, "media root '\(path)' is not a valid path")
        }
        let canonical: String
        switch FileStatus.canonicalPath(path) {
        case .success(let resolved): canonical = resolved
        case .failure(let error):
            throw ChorusError(.failedPrecondition, "media root '\(path)' cannot be opened: \(error)")
        }
        guard case .success(let status) = FileStatus.of(canonical), status.kind == .directory else {
            throw ChorusError(.failedPrecondition, "media root '\(path)' is not a directory")
        }
        self.path = canonical
    }

    /// Resolves a client's `video_path` (relative to the root, or absolute) to the canonical path
    /// of an existing regular file inside the root. Throws `INVALID_ARGUMENT` otherwise.
    public func resolve(_ videoPath: String) throws(ChorusError) -> String {
        guard !videoPath.isEmpty else { throw invalid("video_path must not be empty") }
        guard !videoPath.utf8.contains(0) else { throw invalid("video_path must not contain NUL characters") }
        let shown = Self.quoted(videoPath)
        let candidate = videoPath.hasPrefix("/") ? videoPath : Self.join(path, videoPath)

        let resolved: String
        switch FileStatus.canonicalPath(candidate) {
        case .success(let value):
            resolved = value
        case .failure(let error):
            // Answer "outside" for any missing path that points outside, so probing cannot tell
            // which files exist elsewhere on the server.
            if !contains(Self.lexicallyNormalized(candidate)) {
                throw invalid("video_path \(shown) is outside the media root")
            }
            if error.isNotFound { throw invalid("video_path \(shown) was not found in the media root") }
            if error.isPermissionDenied { throw invalid("video_path \(shown) is not readable by the server (permission denied)") }
            if error.isSymlinkLoop { throw invalid("video_path \(shown) has too many levels of symbolic links") }
            throw invalid("video_path \(shown) cannot be opened: \(error)")
        }
        guard contains(resolved) else { throw invalid("video_path \(shown) is outside the media root") }

        switch FileStatus.of(resolved) {
        case .failure(let error) where error.isNotFound:
            throw invalid("video_path \(shown) was not found in the media root")
        case .failure(let error):
            throw invalid("video_path \(shown) cannot be opened: \(error)")
        case .success(let status) where status.kind == .directory:
            throw invalid("video_path \(shown) is not a regular file (it is a directory)")
        case .success(let status) where status.kind != .regular:
            throw invalid("video_path \(shown) is not a regular file")
        case .success:
            break
        }
        guard access(resolved, R_OK) == 0 else {
            throw invalid("video_path \(shown) is not readable by the server (permission denied)")
        }
        return resolved
    }

    /// ``VideoPathValidator`` conformance: the same as ``resolve(_:)``.
    public func validateVideoPath(_ path: String) throws -> String {
        try resolve(path)
    }

    /// Component-wise containment: `/media/a` is inside `/media`, `/media2/a` is not.
    func contains(_ canonical: String) -> Bool {
        if path == "/" { return canonical.hasPrefix("/") }
        return canonical == path || canonical.hasPrefix(path + "/")
    }

    private func invalid(_ message: String) -> ChorusError {
        ChorusError(.invalidArgument, message)
    }

    private static func join(_ directory: String, _ relative: String) -> String {
        directory == "/" ? "/" + relative : directory + "/" + relative
    }

    /// Resolves `.` and `..` without touching the file system (for paths that do not exist).
    static func lexicallyNormalized(_ absolute: String) -> String {
        var parts: [Substring] = []
        for component in absolute.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The client's own path, shortened so a huge input cannot bloat the error.
    static func quoted(_ videoPath: String) -> String {
        let limit = 200
        return videoPath.count <= limit ? "'\(videoPath)'" : "'\(videoPath.prefix(limit))…'"
    }
}
