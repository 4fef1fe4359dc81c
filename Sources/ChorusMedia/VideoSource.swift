/// Where a model adapter reads a video from.
///
/// ```swift
/// let local = VideoSource.file(path: try root.resolve("cat.mp4"))
/// let stream = VideoSource.remote(url: hlsURL, cacheKey: "twelvelabs:\(indexID)/\(videoID)")
/// ```
public enum VideoSource: Sendable, Hashable {
    /// A canonical local file, normally one returned by ``MediaRoot/resolve(_:)``.
    case file(path: String)
    /// A stream ffmpeg can read (HLS `.m3u8`, mp4 over HTTP). `cacheKey` names the video stably,
    /// because signed stream URLs change between calls while the video does not.
    case remote(url: String, cacheKey: String)

    /// A name safe to show to clients and in logs: the file name or the cache key, never a full
    /// server path or a signed URL.
    public var displayName: String {
        switch self {
        case .file(let path):
            let name = path.split(separator: "/").last.map(String.init) ?? path
            return name.isEmpty ? path : name
        case .remote(_, let cacheKey):
            return cacheKey
        }
    }

    /// The input argument handed to ffmpeg. Local files get the `file:` protocol prefix so a name
    /// containing `:` is never mistaken for a protocol and one starting with `-` never for an option.
    var ffmpegInput: String {
        switch self {
        case .file(let path): "file:" + path
        case .remote(let url, _): url
        }
    }

    var isRemote: Bool {
        if case .remote = self { return true }
        return false
    }
}
