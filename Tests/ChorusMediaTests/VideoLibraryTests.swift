import ChorusCore
import ChorusTestSupport
import Foundation
import Testing
@testable import ChorusMedia

@Suite("VideoLibrary caches and shares ffmpeg runs")
struct VideoLibraryTests {
    let scratch: Scratch
    let recorder = RecordingLogHandler.Recorder()

    init() throws {
        scratch = try Scratch()
    }

    func makeLibrary(workDirectory: String? = nil, maxCachedFrameSets: Int = 32) -> VideoLibrary {
        VideoLibrary(workDirectory: workDirectory, maxCachedFrameSets: maxCachedFrameSets,
                     logger: recorder.logger(label: "media-test"))
    }

    @Test func secondCallIsServedFromTheCache() async throws {
        let library = makeLibrary()
        let source = VideoSource.file(path: try await scratch.makeVideo())
        let first = try await library.frames(of: source, count: 3, maxWidth: 128)
        let launchesAfterFirst = library.ffmpeg.launches.value
        #expect(launchesAfterFirst == 4, "one ffprobe plus one ffmpeg per frame")

        let second = try await library.frames(of: source, count: 3, maxWidth: 128)
        #expect(second == first)
        #expect(library.ffmpeg.launches.value == launchesAfterFirst)
        #expect(recorder.entries.filter { $0.message == "sampled video frames" }.count == 1)

        // Another count or width is another frame set.
        _ = try await library.frames(of: source, count: 2, maxWidth: 128)
        _ = try await library.frames(of: source, count: 3, maxWidth: 64)
        #expect(library.ffmpeg.launches.value == launchesAfterFirst + 3 + 4)
    }

    @Test func concurrentCallsShareOneRun() async throws {
        let library = makeLibrary()
        let source = VideoSource.file(path: try await scratch.makeVideo())
        async let first = library.frames(of: source, count: 3)
        async let second = library.frames(of: source, count: 3)
        let (a, b) = try await (first, second)
        #expect(a == b)
        #expect(library.ffmpeg.launches.value == 4, "both callers share one ffprobe and three ffmpeg runs")
    }

    @Test func replacedFileIsSampledAgain() async throws {
        let library = makeLibrary()
        let path = try await scratch.makeVideo("clip.mp4", seconds: 4)
        let before = try await library.frames(of: .file(path: path), count: 2)
        // Same path, new content (and size): the cache must not answer with the old frames.
        _ = try await scratch.makeVideo("clip.mp4", seconds: 2)
        let after = try await library.frames(of: .file(path: path), count: 2)
        #expect(library.ffmpeg.launches.value == 6)
        #expect(before.map(\.time) != after.map(\.time))
    }

    @Test func failuresAreNotCached() async throws {
        let library = makeLibrary()
        let notes = try scratch.write("plain text", to: "notes.mp4")
        for attempt in 1...2 {
            await expectChorusError(.invalidArgument) { _ = try await library.frames(of: .file(path: notes), count: 2) }
            #expect(library.ffmpeg.launches.value == attempt, "each attempt probes again")
        }
        await expectChorusError(.invalidArgument) {
            _ = try await library.frames(of: .file(path: scratch.file("missing.mp4")), count: 2)
        }
    }

    @Test func frameSetsAreLRUBounded() async throws {
        let library = makeLibrary(maxCachedFrameSets: 2)
        let source = VideoSource.file(path: try await scratch.makeVideo(seconds: 1))
        for width in [32, 48, 64] { _ = try await library.frames(of: source, count: 1, maxWidth: width) }
        #expect(library.frameSets.count == 2)
        _ = try await library.frames(of: source, count: 1, maxWidth: 32)   // evicted: runs again
        #expect(library.ffmpeg.launches.value == 8)
    }

    @Test func localFileOfAFileIsHashedInPlace() async throws {
        let library = makeLibrary()
        let path = try await scratch.makeVideo()
        let video = try await library.localFile(of: .file(path: path))
        let expected = String(decoding: try await runTool("sha256sum", [path]).stdout, as: UTF8.self).prefix(64)
        #expect(video.path == path)
        #expect(video.sha256 == String(expected))
        #expect(video.sizeBytes == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        #expect(video.mimeType == "video/mp4")
        #expect(try await library.localFile(of: .file(path: path)) == video)
        #expect(library.fileHashes.count == 1)
        #expect(library.ffmpeg.launches.value == 0)
    }

    @Test func remoteIsRemuxedOnceIntoTheWorkDirectory() async throws {
        let work = scratch.file("work/videos")
        let library = makeLibrary(workDirectory: work)
        let source = VideoSource.remote(url: "file://" + (try await scratch.makeVideo(seconds: 4)), cacheKey: "twelvelabs:idx/vid")
        async let first = library.localFile(of: source)
        async let second = library.localFile(of: source)
        let (a, b) = try await (first, second)
        let third = try await library.localFile(of: source)
        #expect(a == b && b == third)
        #expect(library.ffmpeg.launches.value == 1, "one remux for three callers")
        #expect(a.path.hasPrefix(work + "/twelvelabs_idx_vid-"))
        #expect(a.mimeType == "video/mp4")
        #expect(a.sha256 == (try SHA256.hashFile(atPath: a.path)))
        let duration = try await FFmpeg().duration(of: .file(path: a.path))
        #expect(abs(seconds(duration) - 4) < 0.2)

        // A deleted copy is made again rather than handed out.
        try FileManager.default.removeItem(atPath: a.path)
        let again = try await library.localFile(of: source)
        #expect(FileManager.default.fileExists(atPath: again.path))
        #expect(library.ffmpeg.launches.value == 2)
    }

    @Test func defaultWorkDirectoryIsPrivateAndRemovedWithTheLibrary() async throws {
        let source = VideoSource.remote(url: try await scratch.makeVideo(seconds: 1), cacheKey: "k")
        var library: VideoLibrary? = makeLibrary()
        let copy = try #require(try await library?.localFile(of: source))
        let directory = String(copy.path[..<copy.path.lastIndex(of: "/")!])
        let permissions = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
        #expect(permissions == 0o700)
        library = nil
        // The shared run's task may hold the library a moment longer than the caller does.
        await eventually { !FileManager.default.fileExists(atPath: directory) }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func remoteFailureIsUnavailableAndNotCached() async throws {
        let library = makeLibrary()
        let source = VideoSource.remote(url: "http://127.0.0.1:1/v.m3u8", cacheKey: "tl:x")
        for attempt in 1...2 {
            let error = await expectChorusError(.unavailable) { _ = try await library.localFile(of: source) }
            #expect(error?.retryable == true)
            #expect(library.ffmpeg.launches.value == attempt)
        }
    }

    @Test func cancelledCallerStopsWaitingWhileTheSharedRunContinues() async throws {
        let library = makeLibrary()
        let path = try await scratch.makeVideo()
        let source = VideoSource.file(path: path)
        guard case .success(let status) = FileStatus.of(path) else { Issue.record("cannot stat"); return }
        let key = VideoLibrary.FrameKey(source: source, count: 4, maxWidth: 512,
                                        version: .init(path: path, status: status))

        let staying = Task { try await library.frames(of: source, count: 4) }
        await eventually { library.frameSets.waiters(for: key) == 1 }
        let leaving = Task { try await library.frames(of: source, count: 4) }
        await eventually { library.frameSets.waiters(for: key) == 2 }
        try #require(library.frameSets.waiters(for: key) == 2)
        leaving.cancel()
        await #expect(throws: CancellationError.self) { _ = try await leaving.value }

        let frames = try await staying.value
        #expect(frames.count == 4)
        #expect(library.ffmpeg.launches.value == 5, "one run, not restarted or repeated")
        #expect(try await library.frames(of: source, count: 4) == frames)
    }

    @Test func alreadyCancelledCallerStartsNothing() async throws {
        let library = makeLibrary()
        let source = VideoSource.file(path: try await scratch.makeVideo(seconds: 1))
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await library.frames(of: source, count: 2)
        }
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(library.ffmpeg.launches.value == 0)
    }
}
