import ChorusCore
import ChorusMedia
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

/// Questions about a video: sampled frames go to the fake as `image_url` parts.
@Suite("OpenAIProvider with videos", .timeLimit(.minutes(1)))
struct OpenAIVideoTests {
    let fake: FakeUpstream
    let directory: String

    init() async throws {
        directory = NSTemporaryDirectory() + "/chorus-openai-video-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await Self.makeClip(at: directory + "/clip.mp4")
        fake = try await FakeUpstream.start()
    }

    /// A 3 s, 10 fps test pattern, made with ffmpeg off the cooperative pool.
    private static func makeClip(at path: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=10",
            "-pix_fmt", "yuv420p", "-y", path,
        ]
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try #require(status == 0, "ffmpeg could not make the test clip")
    }

    private func cleanUp() {
        fake.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func inputs() throws -> VideoInputs {
        VideoInputs(mediaRoot: try MediaRoot(path: directory), library: VideoLibrary(logger: Logger(label: "video-test")))
    }

    @Test("sends N low-detail JPEG frames after the question and an introduction line")
    func framesAreSent() async throws {
        defer { cleanUp() }
        let provider = OpenAITesting.provider(
            OpenAITesting.settings(fake), video: try inputs(), frames: FrameSampling(count: 4, maxWidth: 160))
        let query = "What is on screen? [fake:tag=video]"
        let collector = TextCollector()
        let (text, result) = await OpenAITesting.run(
            provider, query: query, video: VideoReference(videoPath: "clip.mp4"), collector: collector)
        #expect(text == OpenAITesting.defaultText)
        #expect(try result.get().finishReason == "stop")
        // Sampling frames is preparation: the first-chunk clock does not run meanwhile.
        #expect(collector.timeline == ["prepare", "prepared"] + Array(repeating: "text", count: collector.chunks.count))

        let record = try #require(try await fake.requests(tag: "video").first)
        let json = try #require(record["json"] as? [String: Any])
        let messages = try #require(json["messages"] as? [[String: Any]])
        let content = try #require(messages.first?["content"] as? [[String: Any]])
        #expect(content.count == 2 + 4)
        #expect(content[0]["type"] as? String == "text")
        #expect(content[0]["text"] as? String == query)
        #expect(content[1]["type"] as? String == "text")
        let introduction = content[1]["text"] as? String ?? ""
        #expect(introduction.contains("4 images are frames sampled evenly from the video clip.mp4"))
        let images = content.dropFirst(2)
        for part in images {
            #expect(part["type"] as? String == "image_url")
            let image = part["image_url"] as? [String: Any]
            #expect(image?["detail"] as? String == "low")
            let url = image?["url"] as? String ?? ""
            #expect(url.hasPrefix("data:image/jpeg;base64,"))
            // Real JPEG bytes (FF D8) behind the base64.
            let jpeg = Data(base64Encoded: String(url.dropFirst("data:image/jpeg;base64,".count)))
            #expect(jpeg?.prefix(2) == Data([0xFF, 0xD8]))
        }
        // Evenly sampled frames differ from one another.
        #expect(Set(images.compactMap { ($0["image_url"] as? [String: Any])?["url"] as? String }).count == 4)
    }

    @Test("the detail setting is passed through")
    func detailSetting() async throws {
        defer { cleanUp() }
        let provider = OpenAITesting.provider(
            OpenAITesting.settings(fake), video: try inputs(), frames: FrameSampling(count: 2, maxWidth: 128, detail: "high"))
        _ = try await OpenAITesting.run(provider, query: "q [fake:tag=high]", video: VideoReference(videoPath: "clip.mp4"))
            .result.get()
        let json = try #require(try await fake.requests(tag: "high").first?["json"] as? [String: Any])
        let content = (json["messages"] as? [[String: Any]])?.first?["content"] as? [[String: Any]] ?? []
        let details = content.compactMap { ($0["image_url"] as? [String: Any])?["detail"] as? String }
        #expect(details == ["high", "high"])
    }

    @Test("a video_path outside the media root is INVALID_ARGUMENT and nothing is sent")
    func pathOutsideRoot() async throws {
        defer { cleanUp() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake), video: try inputs())
        let (_, result) = await OpenAITesting.run(
            provider, query: "q [fake:tag=outside]", video: VideoReference(videoPath: "../../etc/passwd"))
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("video_path"))
        #expect(try await fake.requests(tag: "outside").isEmpty)
    }

    @Test(
        "a TwelveLabs video this server cannot fetch is FAILED_PRECONDITION from VideoInputs",
        arguments: [VideoReference(videoID: "vid-1"), VideoReference(indexID: "idx-1", videoID: "vid-1")])
    func twelveLabsVideo(reference: VideoReference) async throws {
        defer { cleanUp() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake), video: try inputs())
        let (_, result) = await OpenAITesting.run(provider, query: "q [fake:tag=vid]", video: reference)
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("gpt4o cannot see the video"))
        #expect(try await fake.requests(tag: "vid").isEmpty)
    }

    @Test("without video access a prompt naming a video is FAILED_PRECONDITION")
    func noVideoAccess() async throws {
        defer { cleanUp() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake), video: nil)
        let (_, result) = await OpenAITesting.run(
            provider, query: "q [fake:tag=novideo]", video: VideoReference(videoPath: "clip.mp4"))
        let error = try #require(OpenAITesting.error(result))
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("no video access"))
        #expect(try await fake.requests(tag: "novideo").isEmpty)
    }

    @Test("no video named: a text-only question even with video access")
    func textOnly() async throws {
        defer { cleanUp() }
        let provider = OpenAITesting.provider(OpenAITesting.settings(fake), video: try inputs())
        _ = try await OpenAITesting.run(provider, query: "q [fake:tag=textonly]").result.get()
        let json = try #require(try await fake.requests(tag: "textonly").first?["json"] as? [String: Any])
        let content = (json["messages"] as? [[String: Any]])?.first?["content"] as? [[String: Any]] ?? []
        #expect(content.count == 1)
    }

    @Test("frames are sampled once, not again for a retried request")
    func framesSampledOnce() async throws {
        defer { cleanUp() }
        let recorder = RecordingLogHandler.Recorder()
        let provider = OpenAITesting.provider(
            OpenAITesting.settings(fake), video: try inputs(), frames: FrameSampling(count: 2, maxWidth: 128),
            logger: recorder.logger())
        let (text, _) = await OpenAITesting.run(
            provider, query: "q [fake:status=503;times=1;tag=retry-video]", video: VideoReference(videoPath: "clip.mp4"))
        #expect(text == OpenAITesting.defaultText)
        let records = try await fake.requests(tag: "retry-video")
        #expect(records.count == 2)
        #expect(Set(records.compactMap { $0["body_sha256"] as? String }).count == 1)
        #expect(recorder.entries.filter { $0.message == "sampled video frames" }.count == 1)
    }
}
