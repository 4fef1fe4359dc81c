import ChorusCore
import Dispatch
import Foundation
public import Logging
import Synchronization

/// The shared, caching front of ``FFmpeg`` that model adapters use to get video into their requests.
///
/// Several models asking about the same video at once cost one ffmpeg run: results are cached
/// (frame sets LRU-bounded, keyed by source, frame count, width and — for files — size and mtime
/// so a replaced file is read again), and concurrent misses for the same key wait for one shared
/// run. Failures are never cached. A caller whose task is cancelled stops waiting immediately;
/// the run continues for the other waiters and is cancelled when none are left.
///
/// ```swift
/// let library = VideoLibrary(logger: logger)
/// let frames = try await library.frames(of: .file(path: path), count: 8)      // vision models
/// let video = try await library.localFile(of: .remote(url: hls, cacheKey: "twelvelabs:i/v"))
/// try upload(video.path, mimeType: video.mimeType)                           // file-upload APIs
/// ```
public final class VideoLibrary: Sendable {
    let ffmpeg: FFmpeg
    private let logger: Logger
    private let configuredWorkDirectory: String?
    /// The private directory made on first use when none was configured; deleted with the library.
    private let createdWorkDirectory = Mutex<TemporaryDirectory?>(nil)

    let frameSets: SharedCache<FrameKey, [VideoFrame]>
    let fileHashes = SharedCache<FileVersion, String>(capacity: 256)
    let remoteCopies = SharedCache<String, LocalVideo>(capacity: 1024)

    /// - Parameters:
    ///   - workDirectory: where remote videos are copied; created if missing. Default: a private
    ///     directory under `NSTemporaryDirectory()`, removed when the library is deinitialized
    ///     (after its last shared run has finished, since a run keeps the library alive).
    ///   - maxCachedFrameSets: how many `(source, count, maxWidth)` frame sets stay in memory.
    public init(ffmpeg: FFmpeg = FFmpeg(), workDirectory: String? = nil, maxCachedFrameSets: Int = 32, logger: Logger) {
        self.ffmpeg = ffmpeg
        self.configuredWorkDirectory = workDirectory
        self.frameSets = SharedCache(capacity: maxCachedFrameSets)
        self.logger = logger
    }

    deinit {
        createdWorkDirectory.withLock { $0?.remove() }
    }

    /// `count` evenly spaced JPEG frames of the video, at most `maxWidth` pixels wide (see
    /// ``FFmpeg/sampleFrames(from:count:maxWidth:)``), from the cache when possible.
    public func frames(of source: VideoSource, count: Int, maxWidth: Int = 512) async throws -> [VideoFrame] {
        let key = FrameKey(source: source, count: count, maxWidth: maxWidth, version: try version(of: source))
        return try await frameSets.value(for: key) { [ffmpeg, logger] in
            let started = ContinuousClock.now
            let frames = try await ffmpeg.sampleFrames(from: source, count: count, maxWidth: maxWidth)
            logger.debug("sampled video frames", metadata: [
                "video": "\(source.displayName)", "frames": "\(frames.count)", "max_width": "\(maxWidth)",
                "elapsed_ms": "\((ContinuousClock.now - started).milliseconds)",
            ])
            return frames
        }
    }

    /// The video as a local file with size, SHA-256 and MIME type, for APIs that take uploads.
    /// A `.file` source is used in place (its hash is cached by path, size and mtime); a `.remote`
    /// source is remuxed into the work directory once per `cacheKey` and reused afterwards.
    public func localFile(of source: VideoSource) async throws -> LocalVideo {
        switch source {
        case .file(let path):
            let version = try version(of: source)!
            let digest = try await fileHashes.value(for: version) { try await Self.hashInBackground(path) }
            return LocalVideo(path: path, sizeBytes: version.status.sizeBytes, sha256: digest,
                              mimeType: LocalVideo.mimeType(forPath: path))
        case .remote(let url, let cacheKey):
            for _ in 0..<2 {
                let video = try await remoteCopies.value(for: cacheKey) { [self] in
                    try await copy(url, cacheKey: cacheKey)
                }
                // Something (a tmp cleaner, an operator) may have deleted the copy since; fetch again.
                if case .success(let status) = FileStatus.of(video.path), status.sizeBytes == video.sizeBytes {
                    return video
                }
                remoteCopies.removeValue(for: cacheKey)
            }
            throw ChorusError(.internal, "the local copy of '\(cacheKey)' disappeared right after it was made")
        }
    }

    // MARK: - Internals

    struct FrameKey: Hashable, Sendable {
        var source: VideoSource
        var count: Int
        var maxWidth: Int
        var version: FileVersion?
    }

    /// One version of a local file: same path with another size or mtime is another video.
    struct FileVersion: Hashable, Sendable {
        var path: String
        var status: FileStatus
    }

    private func version(of source: VideoSource) throws -> FileVersion? {
        guard case .file(let path) = source else { return nil }
        switch FileStatus.of(path) {
        case .success(let status) where status.kind == .regular:
            return FileVersion(path: path, status: status)
        case .success:
            throw ChorusError(.invalidArgument, "video_path '\(source.displayName)' is not a regular file")
        case .failure(let error) where error.isNotFound:
            throw ChorusError(.invalidArgument, "video_path '\(source.displayName)' was not found")
        case .failure(let error):
            throw ChorusError(.invalidArgument, "video_path '\(source.displayName)' cannot be opened: \(error)")
        }
    }

    private func copy(_ url: String, cacheKey: String) async throws -> LocalVideo {
        let directory = try workDirectory()
        // Readable, collision-free and filesystem-safe whatever the cache key contains.
        let readable = String(cacheKey.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" }.prefix(80))
        let path = directory + "/" + readable + "-" + SHA256.hex(SHA256.hash(Array(cacheKey.utf8)).prefix(8)) + ".mp4"
        let started = ContinuousClock.now
        try await ffmpeg.remux(url, to: path)
        guard case .success(let status) = FileStatus.of(path) else {
            throw ChorusError(.internal, "the local copy of '\(cacheKey)' is missing after remuxing")
        }
        let digest = try await Self.hashInBackground(path)
        logger.debug("copied remote video", metadata: [
            "video": "\(cacheKey)", "bytes": "\(status.sizeBytes)",
            "elapsed_ms": "\((ContinuousClock.now - started).milliseconds)",
        ])
        return LocalVideo(path: path, sizeBytes: status.sizeBytes, sha256: digest, mimeType: "video/mp4")
    }

    private func workDirectory() throws -> String {
        if let configured = configuredWorkDirectory {
            do {
                try FileManager.default.createDirectory(atPath: configured, withIntermediateDirectories: true)
            } catch {
                throw ChorusError(.failedPrecondition, "the video work directory cannot be created: \(error.localizedDescription)")
            }
            return configured
        }
        return try createdWorkDirectory.withLock { created throws(ChorusError) in
            if let existing = created { return existing.path }
            let directory = try TemporaryDirectory(prefix: "chorus-videos")
            created = directory
            return directory.path
        }
    }

    /// The video's size in bytes; for a `.file` source from `stat` alone (no hash, unlike
    /// ``localFile(of:)``).
    public func sizeBytes(of source: VideoSource) async throws -> Int {
        if let version = try version(of: source) { return version.status.sizeBytes }
        return try await localFile(of: source).sizeBytes
    }

    /// The bytes of a video (for APIs that take it inline), read on a Dispatch thread like the
    /// hash: a file read must not hold a cooperative thread.
    public func contents(of source: VideoSource) async throws -> [UInt8] {
        let path: String
        if case .file(let file) = source { path = file } else { path = try await localFile(of: source).path }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result {
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw ChorusError(.notFound, "the video file '\(path)' could not be read")
                    }
                    return [UInt8](data)
                })
            }
        }
    }

    /// Hashing a large video takes seconds of CPU; doing it on a Dispatch thread keeps the
    /// cooperative pool (two threads on a 2-core server) free for streaming answers.
    private static func hashInBackground(_ path: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try SHA256.hashFile(atPath: path) })
            }
        }
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
