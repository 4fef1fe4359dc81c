import ChorusCore
import Foundation
import Testing
@testable import ChorusMedia

@Suite("FFmpeg reads real video")
struct FFmpegTests {
    let scratch: Scratch
    let ffmpeg = FFmpeg()

    init() throws {
        scratch = try Scratch()
    }

    @Test func durationOfGeneratedVideo() async throws {
        let video = try await scratch.makeVideo(seconds: 4)
        let duration = try await ffmpeg.duration(of: .file(path: video))
        #expect(abs(seconds(duration) - 4) < 0.2, "\(duration)")
    }

    @Test func sampledFramesAreEvenlySpacedScaledJPEGs() async throws {
        let source = VideoSource.file(path: try await scratch.makeVideo(seconds: 4))
        let total = try await ffmpeg.duration(of: source)
        let frames = try await ffmpeg.sampleFrames(from: source, count: 4, maxWidth: 160)

        #expect(frames.count == 4)
        for (index, frame) in frames.enumerated() {
            #expect(Array(frame.jpeg.prefix(2)) == [0xFF, 0xD8], "frame \(index) lacks SOI")
            #expect(Array(frame.jpeg.suffix(2)) == [0xFF, 0xD9], "frame \(index) lacks EOI")
            let size = try #require(jpegSize(frame.jpeg))
            #expect(size.width == 160 && size.height == 120, "aspect ratio kept: \(size)")
            let expected = seconds(total) * (Double(index) + 0.5) / 4
            #expect(abs(seconds(frame.time) - expected) < 0.001, "frame \(index) at \(frame.time)")
            #expect(frame.dataURL.hasPrefix("data:image/jpeg;base64,/9j/"))
        }
        // The test pattern changes over time, so distinct seek positions give distinct pictures.
        #expect(Set(frames.map(\.jpeg)).count == 4)
        // Evenly spaced: every gap is the same.
        let gaps = zip(frames.dropFirst(), frames).map { seconds($0.time - $1.time) }
        #expect(gaps.allSatisfy { abs($0 - seconds(total) / 4) < 0.001 }, "\(gaps)")
    }

    @Test func framesAreNeverScaledUp() async throws {
        let source = VideoSource.file(path: try await scratch.makeVideo(seconds: 2))
        let frames = try await ffmpeg.sampleFrames(from: source, count: 1, maxWidth: 1000)
        let frame = try #require(frames.first)
        let size = try #require(jpegSize(frame.jpeg))
        #expect(size.width == 320 && size.height == 240)
    }

    @Test func nonVideoFileIsInvalidArgument() async throws {
        let notes = try scratch.write("hello, I am not a video\n", to: "notes.txt")
        let error = await expectChorusError(.invalidArgument) {
            _ = try await ffmpeg.sampleFrames(from: .file(path: notes), count: 2)
        }
        let message = try #require(error?.message)
        #expect(message.hasPrefix("video_path 'notes.txt' is not a readable video: "), "\(message)")
        #expect(message.contains("Invalid data"), "\(message)")
        #expect(!message.contains(scratch.path), "leaks a server path: \(message)")
    }

    @Test func missingFFmpegIsFailedPrecondition() async throws {
        let video = try await scratch.makeVideo(seconds: 1)
        let expected = "ffmpeg is not installed (apt-get install ffmpeg); it is needed to read video for this model"
        // ffprobe works here, so this reaches the ffmpeg step.
        let noFFmpeg = FFmpeg(ffmpegPath: "/nonexistent/chorus/ffmpeg")
        let error = await expectChorusError(.failedPrecondition) {
            _ = try await noFFmpeg.sampleFrames(from: .file(path: video), count: 1)
        }
        #expect(error?.message == expected)
        let notOnPath = FFmpeg(ffmpegPath: "chorus-no-such-ffmpeg", ffprobePath: "chorus-no-such-ffprobe")
        let probeError = await expectChorusError(.failedPrecondition) {
            _ = try await notOnPath.duration(of: .file(path: video))
        }
        #expect(probeError?.message.hasPrefix("ffprobe is not installed (apt-get install ffmpeg)") == true)
        await expectChorusError(.failedPrecondition) {
            try await notOnPath.remux(video, to: scratch.file("copy.mp4"))
        }
    }

    @Test(arguments: [true, false])
    func remuxCopiesAPlayableMP4(asFileURL: Bool) async throws {
        let video = try await scratch.makeVideo(seconds: 4)
        let copy = scratch.file("copy.mp4")
        try await ffmpeg.remux(asFileURL ? "file://" + video : video, to: copy)

        let duration = try await ffmpeg.duration(of: .file(path: copy))
        #expect(abs(seconds(duration) - 4) < 0.2, "\(duration)")
        let frames = try await ffmpeg.sampleFrames(from: .file(path: copy), count: 2, maxWidth: 64)
        #expect(frames.count == 2)
        // No partial files are left next to the result.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains("partial") }
        #expect(leftovers.isEmpty)
    }

    @Test func remoteSourcesAreReadLikeFiles() async throws {
        let video = try await scratch.makeVideo(seconds: 2)
        let source = VideoSource.remote(url: "file://" + video, cacheKey: "test:clip")
        #expect(source.displayName == "test:clip")
        let frames = try await ffmpeg.sampleFrames(from: source, count: 2, maxWidth: 64)
        #expect(frames.count == 2)
    }

    @Test func unreachableRemoteIsUnavailable() async throws {
        let url = "http://127.0.0.1:1/stream.m3u8?token=secret"
        let error = await expectChorusError(.unavailable) {
            try await ffmpeg.remux(url, to: scratch.file("copy.mp4"))
        }
        #expect(error?.retryable == true)
        #expect(error?.message.contains("secret") == false, "leaks the URL: \(error?.message ?? "")")
        let sampleError = await expectChorusError(.unavailable) {
            _ = try await ffmpeg.sampleFrames(from: .remote(url: url, cacheKey: "tl:i/v"), count: 1)
        }
        #expect(sampleError?.message.contains("'tl:i/v'") == true)
        #expect(!FileManager.default.fileExists(atPath: scratch.file("copy.mp4")))
    }

    @Test func invalidCountsAreRejected() async throws {
        let video = try await scratch.makeVideo(seconds: 1)
        await expectChorusError(.invalidArgument) { _ = try await ffmpeg.sampleFrames(from: .file(path: video), count: 0) }
        await expectChorusError(.invalidArgument) { _ = try await ffmpeg.sampleFrames(from: .file(path: video), count: 1, maxWidth: 0) }
    }

    @Test func stderrSummaryHidesPathsAndURLs() {
        let stderr = """
            [mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d0c0a1b2c0] moov atom not found
            file:/srv/media/cat.mp4: Invalid data found when processing input
            Conversion failed!

            """
        #expect(FFmpeg.lastMeaningfulLine(stderr, hiding: "/srv/media/cat.mp4", as: "cat.mp4")
            == "Invalid data found when processing input")
        #expect(FFmpeg.lastMeaningfulLine("[tcp @ 0x1] Connection to tcp://10.0.0.1:443 failed: refused", hiding: "x", as: "y")
            == "Connection to <url> failed: refused")
        #expect(FFmpeg.lastMeaningfulLine("\n\n", hiding: "x", as: "y") == nil)
        #expect(FFmpeg.seconds(.milliseconds(12_345)) == "12.345")
        #expect(FFmpeg.seconds(.milliseconds(50)) == "0.050")
    }
}
