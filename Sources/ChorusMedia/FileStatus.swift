#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What `stat(2)` says about a path, reduced to what the media code needs.
///
/// Size and modification time together identify a file version: caches key on them so a video
/// replaced under the same name is read again.
struct FileStatus: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case regular, directory, other
    }

    var kind: Kind
    var sizeBytes: Int
    /// Modification time in nanoseconds since the epoch.
    var modifiedNanoseconds: Int64

    /// Follows symlinks, like `stat(2)`. Returns the `errno` on failure.
    static func of(_ path: String) -> Result<FileStatus, POSIXErrorCode> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(POSIXErrorCode.current) }
        let format = info.st_mode & S_IFMT
        let kind: Kind = format == S_IFREG ? .regular : format == S_IFDIR ? .directory : .other
        #if canImport(Darwin)
        let seconds = Int64(info.st_mtimespec.tv_sec), nanos = Int64(info.st_mtimespec.tv_nsec)
        #else
        let seconds = Int64(info.st_mtim.tv_sec), nanos = Int64(info.st_mtim.tv_nsec)
        #endif
        return .success(FileStatus(kind: kind, sizeBytes: Int(info.st_size), modifiedNanoseconds: seconds &* 1_000_000_000 &+ nanos))
    }

    /// `realpath(3)`: the absolute path with every symlink, `.` and `..` resolved.
    static func canonicalPath(_ path: String) -> Result<String, POSIXErrorCode> {
        guard let resolved = realpath(path, nil) else { return .failure(POSIXErrorCode.current) }
        defer { free(resolved) }
        return .success(String(cString: resolved))
    }
}

/// An `errno` value with its `strerror` text, so messages can say what went wrong.
struct POSIXErrorCode: Error, Sendable, Hashable, CustomStringConvertible {
    var rawValue: Int32

    static var current: POSIXErrorCode { POSIXErrorCode(rawValue: errno) }

    var isNotFound: Bool { rawValue == ENOENT || rawValue == ENOTDIR }
    var isPermissionDenied: Bool { rawValue == EACCES || rawValue == EPERM }
    var isSymlinkLoop: Bool { rawValue == ELOOP }

    var description: String { String(cString: strerror(rawValue)) }
}
