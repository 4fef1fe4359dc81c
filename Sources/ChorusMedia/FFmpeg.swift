import ChorusCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads video with the `ffmpeg` / `ffprobe` command-line tools: duration, sampled JPEG frames,
/// and local mp4 copies of remote streams.
///
/// Every call starts child processes (see ``Subprocess``) that are killed when the calling task is
/// cancelled or `timeout` passes. Failures are ``ChorusError``s a client can act on: a local file
/// that does not decode is `INVALID_ARGUMENT`, a remote stream that fails is `UNAVAILABLE`
/// (retryable), missing tools are `FAILED_PRECONDITION`.
///
/// ```swift
/// let ffmpeg = FFmpeg()
/// let frames = try await ffmpeg.sampleFrames(from: .file(path: path), count: 8, maxWidth: 512)
/// try await ffmpeg.remux(hlsURL, to: "/var/cache/chorus/video.mp4")
/// ```
public struct FFmpeg: Sendable {
    /// `ffmpeg` executable: a path, or a bare name looked up on `PATH`.
    public var ffmpegPath: String
    /// `ffprobe` executable: a path, or a bare name looked up on `PATH`.
    public var ffprobePath: String
    /// Limit for each child process (one frame, one probe, or one whole remux).
    public var timeout: Duration
    /// Counts child processes started through this value and its copies (for tests).
    let launches = LaunchCounter()

    public init(ffmpegPath: String = "ffmpeg", ffprobePath: String = "ffprobe", timeout: Duration = .seconds(120)) {
        self.ffmpegPath = ffmpegPath
        self.ffprobePath = ffprobePath
        self.timeout = timeout
    }

    /// The container duration reported by `ffprobe`.
    public func duration(of source: VideoSource) async throws -> Duration {
        let output = try await run(.ffprobe, [
            "-v", "error", "-show_entries", "format=duration",
            "-of", "default=noprint_wrappers=1:nokey=1", source.ffmpegInput,
        ], captureStdout: true)
        guard output.succeeded else { throw unreadable(source, output) }
        let text = String(decoding: output.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
            throw unreadable(source, detail: "it has no known duration")
        }
        return .seconds(seconds)
    }

    /// `count` JPEG frames evenly spaced over the video, at (i + 0.5)·duration/count, each scaled
    /// down (never up) to at most `maxWidth` pixels wide with the aspect ratio kept.
    public func sampleFrames(from source: VideoSource, count: Int, maxWidth: Int = 512) async throws -> [VideoFrame] {
        guard count >= 1 else { throw ChorusError(.invalidArgument, "frame count must be at least 1 (got \(count))") }
        guard maxWidth >= 2 else { throw ChorusError(.invalidArgument, "maxWidth must be at least 2 (got \(maxWidth))") }
        let total = try await duration(of: source)
        let times = (0..<count).map { index in total * (Double(index) + 0.5) / Double(count) }
        let directory = try TemporaryDirectory(prefix: "chorus-frames")
        defer { directory.remove() }

        // One seeking ffmpeg per frame: robust against odd timestamps, and two at a time keeps a
        // 2-core server responsive while still overlapping process start-up with decoding.
        return try await withThrowingTaskGroup(of: (Int, VideoFrame).self) { group in
            var frames = [VideoFrame?](repeating: nil, count: count)
            var next = 0
            func startNext(_ group: inout ThrowingTaskGroup<(Int, VideoFrame), any Error>) {
                let index = next, time = times[index]
                next += 1
                group.addTask {
                    let jpeg = try await extractFrame(from: source, at: time, maxWidth: maxWidth,
                                                      to: directory.file("frame-\(index).jpg"))
                    return (index, VideoFrame(jpeg: jpeg, time: time))
                }
            }
            while next < min(2, count) { startNext(&group) }
            while let (index, frame) = try await group.next() {
                frames[index] = frame
                if next < count { startNext(&group) }
            }
            return frames.compactMap { $0 }
        }
    }

    /// Copies a remote stream (HLS `.m3u8`, mp4 over HTTP, or anything else ffmpeg reads) into a
    /// local mp4 without re-encoding, with the index up front so upload APIs can read it.
    /// The file appears at `path` only when complete.
    public func remux(_ url: String, to path: String) async throws {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let partial = (directory.isEmpty ? "" : directory + "/") + ".chorus-partial-\(UUID().uuidString).mp4"
        defer { unlink(partial) }
        let output = try await run(.ffmpeg, [
            "-hide_banner", "-nostdin", "-loglevel", "error", "-i", url,
            "-c", "copy", "-movflags", "+faststart", "-f", "mp4", "-y", partial,
        ])
        guard output.succeeded else {
            let detail = Self.lastMeaningfulLine(output.stderr, hiding: url, as: "the stream") ?? "ffmpeg exited with status \(output.status)"
            throw ChorusError(.unavailable, "could not copy the remote video: \(detail)", retryable: true)
        }
        guard rename(partial, path) == 0 else {
            throw ChorusError(.internal, "cannot move the copied video into place: \(POSIXErrorCode.current)")
        }
    }

    // MARK: - Internals

    enum Tool: String { case ffmpeg, ffprobe }

    private func extractFrame(from source: VideoSource, at time: Duration, maxWidth: Int, to path: String) async throws -> [UInt8] {
        let output = try await run(.ffmpeg, [
            "-hide_banner", "-nostdin", "-loglevel", "error",
            "-ss", Self.seconds(time), "-i", source.ffmpegInput,
            "-frames:v", "1", "-an", "-sn", "-dn",
            "-vf", "scale='min(\(maxWidth),iw)':-2", "-q:v", "5", "-f", "image2", "-y", path,
        ])
        guard output.succeeded else { throw unreadable(source, output) }
        let jpeg = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
        guard jpeg.count > 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else {
            throw unreadable(source, detail: "no frame could be decoded at \(Self.seconds(time))s")
        }
        return jpeg
    }

    private func run(_ tool: Tool, _ arguments: [String], captureStdout: Bool = false) async throws -> Subprocess.Output {
        let configured = tool == .ffmpeg ? ffmpegPath : ffprobePath
        let notInstalled = ChorusError(.failedPrecondition, "\(tool.rawValue) is not installed (apt-get install ffmpeg); it is needed to read video for this model")
        guard let executable = Subprocess.locate(configured) else { throw notInstalled }
        launches.increment()
        do {
            return try await Subprocess(executable: executable, arguments: arguments,
                                        captureStdout: captureStdout, timeout: timeout).run()
        } catch is Subprocess.LaunchFailure {
            throw notInstalled
        }
    }

    /// The error for a failed read: the client's fault for a local file, transient for a remote one.
    private func unreadable(_ source: VideoSource, _ output: Subprocess.Output) -> ChorusError {
        if !output.exitedNormally {
            return ChorusError(.internal, "ffmpeg was killed by signal \(output.status) while reading '\(source.displayName)'")
        }
        let hidden: String
        switch source {
        case .file(let path): hidden = path
        case .remote(let url, _): hidden = url
        }
        let line = Self.lastMeaningfulLine(output.stderr, hiding: hidden, as: source.displayName)
        return unreadable(source, detail: line ?? "ffmpeg exited with status \(output.status)")
    }

    private func unreadable(_ source: VideoSource, detail: String) -> ChorusError {
        switch source {
        case .file:
            ChorusError(.invalidArgument, "video_path '\(source.displayName)' is not a readable video: \(detail)")
        case .remote:
            ChorusError(.unavailable, "the video '\(source.displayName)' could not be read from its remote source: \(detail)", retryable: true)
        }
    }

    /// `12.345` — fixed-point, independent of the locale.
    static func seconds(_ duration: Duration) -> String {
        let milliseconds = max(0, Int64((Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) * 1000))
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// The last stderr line that says something specific, with the input's full path or URL replaced by
    /// `name` (it must not leak server paths or signed URLs) and any other URL elided.
    static func lastMeaningfulLine(_ stderr: String, hiding input: String, as name: String) -> String? {
        let generic: Set<String> = ["Conversion failed!", "Exiting normally, received signal 15."]
        for rawLine in stderr.split(whereSeparator: \.isNewline).reversed() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            // Drop the "[component @ 0x5622fc6a8000] " context prefix.
            if line.hasPrefix("["), let close = line.firstIndex(of: "]"), line[..<close].contains(" @ ") {
                line = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
            }
            guard !line.isEmpty, !generic.contains(line) else { continue }
            for hidden in ["file:" + input, input] where !hidden.isEmpty {
                if line.hasPrefix(hidden + ": ") { line.removeFirst(hidden.count + 2) }
                line = line.replacingOccurrences(of: hidden, with: name)
            }
            line = line.split(separator: " ", omittingEmptySubsequences: false)
                .map { $0.contains("://") ? ($0.hasSuffix(":") ? "<url>:" : "<url>") : String($0) }
                .joined(separator: " ")
            return line.count > 300 ? String(line.prefix(300)) + "…" : line
        }
        return nil
    }
}

/// A thread-safe count of started child processes.
final class LaunchCounter: Sendable {
    private let count = Atomic<Int>(0)

    var value: Int { count.load(ordering: .relaxed) }

    func increment() {
        count.add(1, ordering: .relaxed)
    }
}
