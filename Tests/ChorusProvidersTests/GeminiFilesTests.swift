import ChorusCore
import ChorusCurl
import ChorusMedia
import ChorusOrchestrator
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Testing

/// Video through the Gemini Files API against the fake: resumable upload, polling, the
/// `file_data` reference, reuse of uploads, and the failure modes.
@Suite("Gemini Files API")
struct GeminiFilesTests {
    /// Test clips made once with ffmpeg, in a media root of their own.
    struct Clips: Sendable {
        let directory: String
        /// A plain 2 s clip.
        let plain = "clip.mp4"
        /// Carries `[fake:file_state=FAILED]` in its metadata: the fake fails its processing.
        let failing = "failing.mp4"
        /// Carries `[fake:polls=100000]`: the fake never finishes processing it.
        let endless = "endless.mp4"
        /// Carries `[fake:polls=12]`: processing takes 12 polls (240 ms at ``GeminiTesting/fastFiles``).
        let slow = "slow.mp4"
        /// Its display name (the file name) makes the fake refuse the first upload start with a 429.
        let rateLimited = "limited[fake:status=429;times=1;retry_after=0.01].mp4"
        /// Its display name makes the fake's upload session break after ``cutAt`` bytes of the first piece.
        let cut = "cut[fake:upload_cut=3000].mp4"
        static let cutAt = 3000

        static let shared: Result<Clips, any Error> = Result { try Clips() }

        init() throws {
            directory = NSTemporaryDirectory() + "/chorus-gemini-clips-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Self.ffmpeg(to: directory + "/" + plain)
            try Self.ffmpeg(to: directory + "/" + failing, comment: "[fake:file_state=FAILED]")
            try Self.ffmpeg(to: directory + "/" + endless, comment: "[fake:polls=100000]")
            try Self.ffmpeg(to: directory + "/" + slow, comment: "[fake:polls=12]")
            try FileManager.default.copyItem(atPath: directory + "/" + plain, toPath: directory + "/" + rateLimited)
            try FileManager.default.copyItem(atPath: directory + "/" + plain, toPath: directory + "/" + cut)
        }

        private static func ffmpeg(to path: String, comment: String? = nil) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            var arguments = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                             "-i", "testsrc=duration=2:size=320x240:rate=10", "-pix_fmt", "yuv420p"]
            if let comment { arguments += ["-metadata", "comment=\(comment)"] }
            process.arguments = arguments + ["-y", path]
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ChorusError(.internal, "ffmpeg could not make the test clip \(path)")
            }
        }
    }

    static func clips() throws -> Clips { try Clips.shared.get() }

    static func inputs(_ clips: Clips) throws -> VideoInputs {
        VideoInputs(mediaRoot: try MediaRoot(path: clips.directory), library: VideoLibrary(logger: Logger(label: "gemini-files-test")))
    }

    static func provider(_ fake: FakeUpstream, files: GeminiFileOptions = GeminiTesting.fastFiles) throws -> GeminiProvider {
        GeminiTesting.provider(fake, video: try inputs(try clips()), files: files)
    }

    @Test("upload, PROCESSING polls, ACTIVE, then a stream that references the file")
    func uploadPollAndStream() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let query = "What is on screen? [fake:tag=video]"
        let collector = TextCollector()
        let (text, result) = await GeminiTesting.run(
            try Self.provider(fake), query: query, video: VideoReference(videoPath: clips.plain), collector: collector)
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result)?.finishReason == "stop")
        // The upload and the polls are preparation: the first-chunk clock does not run meanwhile.
        #expect(collector.timeline == ["prepare", "prepared"] + Array(repeating: "text", count: collector.chunks.count))

        let records = try await fake.requests()
        let local = try await VideoLibrary(logger: Logger(label: "t")).localFile(of: .file(path: clips.directory + "/" + clips.plain))
        // 1. start: metadata only, at the host root (not under /v1beta).
        let starts = GeminiTesting.uploadStarts(records)
        try #require(starts.count == 1)
        #expect(GeminiTesting.header(starts[0], "x-goog-upload-protocol") == "resumable")
        #expect(GeminiTesting.header(starts[0], "x-goog-upload-command") == "start")
        #expect(GeminiTesting.header(starts[0], "x-goog-upload-header-content-length") == String(local.sizeBytes))
        #expect(GeminiTesting.header(starts[0], "x-goog-upload-header-content-type") == "video/mp4")
        #expect(GeminiTesting.header(starts[0], "x-goog-api-key") == "gm-test…cdef")
        let startBody = try #require(starts[0]["json"] as? [String: Any])
        #expect((startBody["file"] as? [String: Any])?["display_name"] as? String == clips.plain)
        // 2. the bytes, in one finalizing piece.
        let bodies = GeminiTesting.uploadBodies(records)
        try #require(bodies.count == 1)
        #expect(GeminiTesting.header(bodies[0], "x-goog-upload-command") == "upload, finalize")
        #expect(GeminiTesting.header(bodies[0], "x-goog-upload-offset") == "0")
        #expect(bodies[0]["body_bytes"] as? Int == local.sizeBytes)
        #expect(bodies[0]["body_sha256"] as? String == local.sha256)
        // 3. two PROCESSING answers, then ACTIVE.
        let polls = GeminiTesting.polls(records)
        #expect(polls.count == 3)
        #expect(polls.allSatisfy { GeminiTesting.header($0, "x-goog-api-key") == "gm-test…cdef" })
        // 4. the stream names the file, video part first.
        let streams = GeminiTesting.streams(records)
        try #require(streams.count == 1)
        let json = try #require(streams[0]["json"] as? [String: Any])
        let parts = try #require((json["contents"] as? [[String: Any]])?.first?["parts"] as? [[String: Any]])
        try #require(parts.count == 2)
        let fileData = try #require(parts[0]["file_data"] as? [String: Any])
        let fileID = try #require(GeminiTesting.path(polls[0]).split(separator: "/").last.map(String.init))
        #expect(fileData["file_uri"] as? String == fake.geminiBaseURL + "/files/" + fileID)
        #expect(fileData["mime_type"] as? String == "video/mp4")
        #expect(parts[1]["text"] as? String == query)
    }

    @Test("through the orchestrator, an upload and processing longer than the first-chunk timeout do not fail the model")
    func uploadDoesNotCountAsSilence() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        // Processing alone takes 12 polls × 20 ms; the model may be silent for 100 ms.
        let settings = ModelSettings(firstChunkTimeout: .milliseconds(100), idleTimeout: .milliseconds(100), totalTimeout: .seconds(30))
        let registry = try ModelRegistry(entries: [
            ModelRegistry.Entry(name: "gemini", provider: try Self.provider(fake), settings: settings)
        ], recommendations: RecommendationTable(rules: [], fallback: ["gemini"]))
        let sink = CollectingSink()
        let orchestrator = Orchestrator(
            registry: registry, videoPaths: try MediaRoot(path: clips.directory), logger: Logger(label: "gemini-files-test"))
        try await orchestrator.analyze(
            AnalyzeRequest(query: "What happens? [fake:tag=slow]", models: ["gemini"], video: VideoReference(videoPath: clips.slow)),
            context: CallContext(), sink: sink)
        let events = sink.events
        let end = events.compactMap { event -> ModelEnd? in
            if case .modelEnd(let end) = event.payload { return end }
            return nil
        }.first
        let error = events.compactMap { event -> ModelError? in
            if case .error(let error) = event.payload { return error }
            return nil
        }.first
        #expect(error == nil)
        #expect(end?.stats.timeToFirstToken ?? .zero >= .milliseconds(240), "the user's wait includes the upload")
        #expect(GeminiTesting.polls(try await fake.requests()).count == 13)
    }

    @Test("an upload whose connection breaks midway resumes at the offset the session reports: only the rest is sent again")
    func resumeInterruptedUpload() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(try Self.provider(fake), query: "q", video: VideoReference(videoPath: clips.cut))
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result)?.finishReason == "stop")

        let path = clips.directory + "/" + clips.cut
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try #require(size > Clips.cutAt)
        let records = try await fake.requests()
        #expect(GeminiTesting.uploadStarts(records).count == 1, "the session survived: no second start")
        let session = GeminiTesting.uploadBodies(records)
        #expect(session.map { GeminiTesting.header($0, "x-goog-upload-command") } == ["upload, finalize", "query", "upload, finalize"])
        try #require(session.count == 3)
        #expect(GeminiTesting.header(session[0], "x-goog-upload-offset") == "0")
        #expect(session[0]["body_bytes"] as? Int == size)
        #expect(GeminiTesting.header(session[2], "x-goog-upload-offset") == String(Clips.cutAt))
        #expect(session[2]["body_bytes"] as? Int == size - Clips.cutAt, "only the bytes after the cut are sent again")
        let tail = try Data(contentsOf: URL(fileURLWithPath: path)).dropFirst(Clips.cutAt)
        #expect(session[2]["body_sha256"] as? String == SHA256.hex(SHA256.hash(tail)), "and they are the file's bytes from the cut on")
        // The fake finalizes only when the bytes received add up to the declared size: the file
        // became ACTIVE and the stream referenced it.
        #expect(GeminiTesting.streams(records).count == 1)
    }

    @Test("a second question about the same video reuses the upload")
    func reuseUpload() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let provider = try Self.provider(fake)
        for _ in 0..<2 {
            let (text, _) = await GeminiTesting.run(provider, query: "q", video: VideoReference(videoPath: clips.plain))
            #expect(text == GeminiTesting.defaultText)
        }
        let records = try await fake.requests()
        #expect(GeminiTesting.uploadStarts(records).count == 1)
        #expect(GeminiTesting.uploadBodies(records).count == 1)
        #expect(GeminiTesting.streams(records).count == 2)
    }

    @Test("two concurrent questions about one video share one upload")
    func concurrentCallsShareUpload() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let provider = try Self.provider(fake)
        let video = VideoReference(videoPath: clips.plain)
        async let first = GeminiTesting.run(provider, query: "first", video: video)
        async let second = GeminiTesting.run(provider, query: "second", video: video)
        let (one, two) = await (first, second)
        #expect(one.text == GeminiTesting.defaultText)
        #expect(two.text == GeminiTesting.defaultText)
        let records = try await fake.requests()
        #expect(GeminiTesting.uploadStarts(records).count == 1)
        #expect(GeminiTesting.streams(records).count == 2)
    }

    @Test("a file Google cannot process is FAILED_PRECONDITION with its error message")
    func failedProcessing() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(
            try Self.provider(fake), query: "q", video: VideoReference(videoPath: clips.failing))
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .failedPrecondition)
        #expect(error.message.contains("could not be processed"))
        #expect(error.message.contains(clips.failing))
        #expect(text.isEmpty)
        #expect(GeminiTesting.streams(try await fake.requests()).isEmpty)
    }

    @Test("processing longer than maxProcessingWait is DEADLINE_EXCEEDED")
    func processingTimeout() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let files = GeminiFileOptions(pollInterval: .milliseconds(20), maxProcessingWait: .milliseconds(150))
        let (_, result) = await GeminiTesting.run(
            try Self.provider(fake, files: files), query: "q", video: VideoReference(videoPath: clips.endless))
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .deadlineExceeded)
        #expect(error.message.contains("still processing"))
        let records = try await fake.requests()
        #expect(GeminiTesting.polls(records).count >= 2)
        #expect(GeminiTesting.streams(records).isEmpty)
    }

    @Test("a 429 on the upload start is retried, then the upload and the stream succeed")
    func uploadRetried() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let (text, result) = await GeminiTesting.run(
            try Self.provider(fake), query: "q", video: VideoReference(videoPath: clips.rateLimited))
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result) != nil)
        let starts = GeminiTesting.uploadStarts(try await fake.requests())
        #expect(starts.map { $0["status"] as? Int } == [429, 200])
    }

    @Test("when Gemini no longer knows the cached file, the video is uploaded again once")
    func reuploadWhenRejected() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let provider = try Self.provider(fake)
        let video = VideoReference(videoPath: clips.plain)
        _ = try await GeminiTesting.run(provider, query: "q", video: video).result.get()
        // The fake forgets its files: the cached URI now gets 403 PERMISSION_DENIED.
        try await GeminiTesting.reset(fake)
        let (text, result) = await GeminiTesting.run(provider, query: "q", video: video)
        #expect(text == GeminiTesting.defaultText)
        #expect(GeminiTesting.completion(result) != nil)
        let records = try await fake.requests()
        #expect(GeminiTesting.uploadStarts(records).count == 1)
        #expect(GeminiTesting.streams(records).map { $0["status"] as? Int } == [403, 200])
    }

    @Test("a video above the upload cap is INVALID_ARGUMENT naming its size, and nothing is sent")
    func tooLarge() async throws {
        let clips = try Self.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        var files = GeminiTesting.fastFiles
        files.maxUploadBytes = 1000
        let (_, result) = await GeminiTesting.run(
            try Self.provider(fake, files: files), query: "q", video: VideoReference(videoPath: clips.plain))
        let error = try #require(GeminiTesting.error(result))
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains(clips.plain))
        #expect(error.message.contains("bytes; the Gemini adapter uploads videos of at most 1000 bytes"), "its size and the cap")
        #expect(try await fake.requests().isEmpty)
    }

    @Test("the upload URL sits at the host root with the base URL's API version")
    func uploadURL() {
        func url(_ base: String) -> String {
            let settings = UpstreamSettings(provider: .gemini, baseURL: base, upstreamModel: "m", apiKey: nil, keyVariable: nil)
            return GeminiFileUploader(settings: settings, options: GeminiFileOptions(), logger: Logger(label: "t")).uploadURL
        }
        #expect(url("https://generativelanguage.googleapis.com/v1beta") == "https://generativelanguage.googleapis.com/upload/v1beta/files")
        #expect(url("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080/upload/v1/files")
        #expect(url("https://proxy.example/gemini/v1alpha") == "https://proxy.example/upload/v1alpha/files")
    }
}
