/// A video as a local file with what an upload needs: size, content hash and MIME type.
///
/// ```swift
/// let video = try await library.localFile(of: source)
/// upload(path: video.path, mimeType: video.mimeType, displayName: video.sha256)
/// ```
public struct LocalVideo: Sendable, Hashable {
    /// Canonical path of the file on this machine.
    public var path: String
    public var sizeBytes: Int
    /// SHA-256 of the content, lowercase hex; stable across servers, so it makes a good upload key.
    public var sha256: String
    /// MIME type guessed from the file extension (see ``mimeType(forPath:)``).
    public var mimeType: String

    public init(path: String, sizeBytes: Int, sha256: String, mimeType: String) {
        self.path = path
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.mimeType = mimeType
    }

    /// The MIME type for a video file name; unknown extensions are treated as mp4, which is what
    /// most upload APIs expect and what ffmpeg writes by default here.
    public static func mimeType(forPath path: String) -> String {
        let name = path.split(separator: "/").last ?? Substring(path)
        guard let dot = name.lastIndex(of: ".") else { return "video/mp4" }
        switch name[name.index(after: dot)...].lowercased() {
        case "mp4", "m4v": return "video/mp4"
        case "mov": return "video/quicktime"
        case "webm": return "video/webm"
        case "mkv": return "video/x-matroska"
        case "avi": return "video/x-msvideo"
        case "mpeg", "mpg": return "video/mpeg"
        default: return "video/mp4"
        }
    }
}
