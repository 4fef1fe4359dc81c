import ChorusCore
import ChorusMedia
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

/// Pegasus on a local `video_path`: the file goes inline as `video: {type: base64_string}`.
@Suite("TwelveLabsProvider with a local video", .timeLimit(.minutes(1)))
struct TwelveLabsLocalVideoTests {
    /// A media root holding one file of `size` arbitrary bytes followed by `trailer` (the fake
    /// checks only the base64; an asset upload reads `[fake:...]` markers inside the file).
    static func mediaRoot(fileSize size: Int, trailer: String = "") throws -> (directory: String, bytes: [UInt8]) {
        let directory = NSTemporaryDirectory() + "/chorus-pegasus-media-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) } + Array(trailer.utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/clip.mp4"))
        return (directory, bytes)
    }

    static func provider(
        _ fake: FakeUpstream, mediaRoot directory: String, maxInlineVideoBytes: Int = TwelveLabsProvider.defaultMaxInlineVideoBytes,
        assets: TwelveLabsAssetOptions = TwelveLabsAssetOptions(pollInterval: .milliseconds(10))
    ) throws -> TwelveLabsProvider {
        let logger = Logger(label: "twelvelabs-local-test")
        let inputs = VideoInputs(mediaRoot: try MediaRoot(path: directory), library: VideoLibrary(logger: logger))
        return TwelveLabsProvider(
            settings: TwelveLabsTesting.settings(fake), video: inputs, maxInlineVideoBytes: maxInlineVideoBytes, assets: assets, logger: logger)
    }

    @Test("a video_path under the media root is sent inline as base64 (no video_id), and Pegasus answers")
    func inlineVideo() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (directory, bytes) = try Self.mediaRoot(fileSize: 70_000)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (chunks, result) = await TwelveLabsTesting.run(
            try Self.provider(fake, mediaRoot: directory), query: "What happens? [fake:tag=inline]", video: VideoReference(videoPath: "clip.mp4"))
        #expect(chunks.joined() == TwelveLabsTesting.defaultText)
        #expect((try? result.get())?.finishReason == "stop")

        let records = try await fake.requests(tag: "inline")
        try #require(records.count == 1)
        let json = try #require(records[0]["json"] as? [String: Any])
        #expect(json["video_id"] == nil, "video_id and video are exclusive")
        let video = try #require(json["video"] as? [String: Any])
        #expect(video["type"] as? String == "base64_string")
        #expect(video["base64_string"] as? String == Data(bytes).base64EncodedString(), "the file's exact bytes")
        #expect(json["prompt"] as? String == "What happens? [fake:tag=inline]")
        #expect(json["stream"] as? Bool == true)
    }

    @Test("a video_path escaping the media root is INVALID_ARGUMENT, and nothing is sent")
    func outsideMediaRoot() async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (directory, _) = try Self.mediaRoot(fileSize: 100)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (_, result) = await TwelveLabsTesting.run(
            try Self.provider(fake, mediaRoot: directory), query: "q", video: VideoReference(videoPath: "../etc/passwd"))
        #expect(TwelveLabsTesting.error(result)?.code == .invalidArgument)
        #expect(try await fake.requests().isEmpty)
    }
}
