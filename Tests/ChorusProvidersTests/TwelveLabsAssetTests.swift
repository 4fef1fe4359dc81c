import ChorusCore
import ChorusMedia
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

/// Pegasus on a local video too large to go inline: uploaded once as a TwelveLabs asset
/// (`POST /assets`, multipart), polled until `ready`, named as `video: {type: asset_id}`.
@Suite("TwelveLabsProvider with an uploaded asset", .timeLimit(.minutes(1)))
struct TwelveLabsAssetTests {
    typealias Local = TwelveLabsLocalVideoTests

    /// A fake TwelveLabs and a media root holding `clip.mp4` (see `Local.mediaRoot`), both removed afterwards.
    static func withFakeAndMedia(
        fileSize: Int, trailer: String = "", _ body: (FakeUpstream, String, [UInt8]) async throws -> Void
    ) async throws {
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (directory, bytes) = try Local.mediaRoot(fileSize: fileSize, trailer: trailer)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(fake, directory, bytes)
    }

    static func records(_ fake: FakeUpstream, path: String, method: String) async throws -> [[String: Any]] {
        try await fake.requests().filter { $0["path"] as? String == path && $0["method"] as? String == method }
    }

    static func analyzeRecords(_ fake: FakeUpstream) async throws -> [[String: Any]] {
        try await records(fake, path: "/v1.3/analyze", method: "POST")
    }

    @Test("a video over the inline limit is uploaded once, polled until ready and named by asset_id; the next question reuses it")
    func uploadedOnceAndReused() async throws {
        try await Self.withFakeAndMedia(fileSize: 6_000, trailer: "[fake:asset_polls=2]") { fake, directory, bytes in
            let provider = try Local.provider(fake, mediaRoot: directory, maxInlineVideoBytes: 4_096)
            for question in ["What happens?", "Who is there?"] {
                let collector = TextCollector()
                let (chunks, result) = await TwelveLabsTesting.run(
                    provider, query: question, video: VideoReference(videoPath: "clip.mp4"), collector: collector)
                #expect(chunks.joined() == TwelveLabsTesting.defaultText)
                #expect((try? result.get())?.finishReason == "stop")
                // Reading and uploading the video is preparation: the first-chunk clock does not run meanwhile.
                #expect(collector.timeline == ["prepare", "prepared"] + Array(repeating: "text", count: chunks.count))
            }

            let uploads = try await Self.records(fake, path: "/v1.3/assets", method: "POST")
            try #require(uploads.count == 1, "one upload serves both questions")
            let upload = uploads[0]
            #expect(upload["file_bytes"] as? Int == bytes.count)
            #expect(upload["file_sha256"] as? String == SHA256.hex(SHA256.hash(bytes)), "the file's exact bytes")
            #expect(upload["file_name"] as? String == "clip.mp4")
            let form = try #require(upload["form"] as? [String: Any])
            #expect(form["method"] as? String == "direct")
            let assetID = try #require(upload["asset_id"] as? String)
            let polls = try await Self.records(fake, path: "/v1.3/assets/\(assetID)", method: "GET")
            #expect(polls.count == 3, "two answers say processing, the third ready")

            let analyses = try await Self.analyzeRecords(fake)
            try #require(analyses.count == 2)
            for analysis in analyses {
                let json = try #require(analysis["json"] as? [String: Any])
                #expect(json["video_id"] == nil)
                let video = try #require(json["video"] as? [String: Any])
                #expect(video["type"] as? String == "asset_id")
                #expect(video["asset_id"] as? String == assetID)
                #expect(video["base64_string"] == nil)
            }
        }
    }

    @Test("an asset TwelveLabs fails to process is FAILED_PRECONDITION with its reason, and no analysis is asked")
    func failedAsset() async throws {
        try await Self.withFakeAndMedia(fileSize: 6_000, trailer: "[fake:asset_fail]") { fake, directory, _ in
            let (chunks, result) = await TwelveLabsTesting.run(
                try Local.provider(fake, mediaRoot: directory, maxInlineVideoBytes: 4_096), query: "q", video: VideoReference(videoPath: "clip.mp4"))
            let error = try #require(TwelveLabsTesting.error(result))
            #expect(error.code == .failedPrecondition)
            #expect(error.message.contains("TwelveLabs could not process the video 'clip.mp4'"))
            #expect(chunks.isEmpty)
            #expect(try await Self.analyzeRecords(fake).isEmpty)
        }
    }

    @Test("an asset still processing after the configured wait is DEADLINE_EXCEEDED, and no analysis is asked")
    func processingTooLong() async throws {
        try await Self.withFakeAndMedia(fileSize: 6_000, trailer: "[fake:asset_polls=100000]") { fake, directory, _ in
            let provider = try Local.provider(
                fake, mediaRoot: directory, maxInlineVideoBytes: 4_096,
                assets: TwelveLabsAssetOptions(pollInterval: .milliseconds(20), maxProcessingWait: .milliseconds(150)))
            let (_, result) = await TwelveLabsTesting.run(provider, query: "q", video: VideoReference(videoPath: "clip.mp4"))
            let error = try #require(TwelveLabsTesting.error(result))
            #expect(error.code == .deadlineExceeded)
            #expect(error.message.contains("TwelveLabs was still processing the video 'clip.mp4'"))
            let uploads = try await Self.records(fake, path: "/v1.3/assets", method: "POST")
            let id = try #require(uploads.first?["asset_id"] as? String)
            #expect(try await Self.records(fake, path: "/v1.3/assets/\(id)", method: "GET").count >= 3, "polled meanwhile")
            #expect(try await Self.analyzeRecords(fake).isEmpty)
        }
    }

    @Test("a video over the upload limit is INVALID_ARGUMENT naming its size and the limit, and nothing is sent")
    func tooLargeToUpload() async throws {
        try await Self.withFakeAndMedia(fileSize: 5_000) { fake, directory, _ in
            let provider = try Local.provider(
                fake, mediaRoot: directory, maxInlineVideoBytes: 1_024, assets: TwelveLabsAssetOptions(pollInterval: .milliseconds(10), maxUploadBytes: 4_096))
            let (chunks, result) = await TwelveLabsTesting.run(provider, query: "q", video: VideoReference(videoPath: "clip.mp4"))
            let error = try #require(TwelveLabsTesting.error(result))
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("is 5000 bytes"))
            #expect(error.message.contains("at most 4096 bytes"))
            #expect(error.message.contains("video_id"))
            #expect(chunks.isEmpty)
            #expect(try await fake.requests().isEmpty)
        }
    }

    @Test("an asset TwelveLabs no longer knows (404 on analyze) is uploaded again once, and the question answered")
    func forgottenAssetUploadedAgain() async throws {
        try await Self.withFakeAndMedia(fileSize: 6_000, trailer: "[fake:asset_polls=0]") { fake, directory, _ in
            let provider = try Local.provider(fake, mediaRoot: directory, maxInlineVideoBytes: 4_096)
            let (chunks, result) = await TwelveLabsTesting.run(
                provider, query: "What happens? [fake:status=404;times=1;key=forgotten]", video: VideoReference(videoPath: "clip.mp4"))
            #expect(chunks.joined() == TwelveLabsTesting.defaultText)
            #expect((try? result.get())?.finishReason == "stop")
            let uploads = try await Self.records(fake, path: "/v1.3/assets", method: "POST")
            #expect(uploads.count == 2)
            let analyses = try await Self.analyzeRecords(fake)
            try #require(analyses.count == 2)
            let first = ((analyses[0]["json"] as? [String: Any])?["video"] as? [String: Any])?["asset_id"] as? String
            let second = ((analyses[1]["json"] as? [String: Any])?["video"] as? [String: Any])?["asset_id"] as? String
            #expect(first == uploads[0]["asset_id"] as? String)
            #expect(second == uploads[1]["asset_id"] as? String)
            #expect(first != second)
        }
    }

    @Test("the upload fails over HTTP as TwelveLabs answers: a bad key is UNAUTHENTICATED before any analysis")
    func uploadRefused() async throws {
        try await Self.withFakeAndMedia(fileSize: 6_000) { fake, directory, _ in
            let logger = Logger(label: "twelvelabs-asset-test")
            let inputs = VideoInputs(mediaRoot: try MediaRoot(path: directory), library: VideoLibrary(logger: logger))
            let provider = TwelveLabsProvider(
                settings: TwelveLabsTesting.settings(fake, key: "bad-key"), video: inputs, maxInlineVideoBytes: 4_096,
                assets: TwelveLabsAssetOptions(pollInterval: .milliseconds(10)), logger: logger)
            let (_, result) = await TwelveLabsTesting.run(provider, query: "q", video: VideoReference(videoPath: "clip.mp4"))
            #expect(TwelveLabsTesting.error(result)?.code == .unauthenticated)
            #expect(try await Self.analyzeRecords(fake).isEmpty)
        }
    }
}
