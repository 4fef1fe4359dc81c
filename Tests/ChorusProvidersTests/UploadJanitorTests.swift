import ChorusCore
import ChorusMedia
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Deleting uploads: after `keep_unused` without a question (never while one runs), and at exit,
/// against the fake's `DELETE /v1.3/assets/{id}` (TwelveLabs) and `DELETE /v1beta/files/{id}` (Gemini).
@Suite("Upload janitor", .timeLimit(.minutes(1)))
struct UploadJanitorTests {
    typealias Assets = TwelveLabsAssetTests
    typealias Local = TwelveLabsLocalVideoTests

    /// A wall clock the test moves.
    final class TestClock: Sendable {
        private let current = Mutex(Date())
        var now: Date { current.withLock { $0 } }
        func advance(minutes: Double) { current.withLock { $0 = $0.addingTimeInterval(minutes * 60) } }
    }

    static func provider(
        _ fake: FakeUpstream, mediaRoot: String, janitor: UploadJanitor,
        keepUnused: Duration? = .seconds(3_600), deleteOnExit: Bool = true
    ) throws -> TwelveLabsProvider {
        let logger = Logger(label: "upload-janitor-test")
        return TwelveLabsProvider(
            settings: TwelveLabsTesting.settings(fake),
            video: VideoInputs(mediaRoot: try MediaRoot(path: mediaRoot), library: VideoLibrary(logger: logger)),
            maxInlineVideoBytes: 4_096,
            assets: TwelveLabsAssetOptions(pollInterval: .milliseconds(10), keepUnused: keepUnused, deleteOnExit: deleteOnExit),
            uploads: janitor, name: "pegasus", logger: logger)
    }

    /// A fake TwelveLabs with `clip.mp4` (too large to go inline, ready at once) under a media root,
    /// and a TwelveLabs provider registered with a janitor on a clock the test moves.
    static func withProvider(
        _ body: (FakeUpstream, TwelveLabsProvider, UploadJanitor, TestClock) async throws -> Void
    ) async throws {
        try await Assets.withFakeAndMedia(fileSize: 6_000, trailer: "[fake:asset_polls=0]") { fake, directory, _ in
            let clock = TestClock()
            let janitor = UploadJanitor(logger: Logger(label: "janitor"), now: { clock.now })
            try await body(fake, try Self.provider(fake, mediaRoot: directory, janitor: janitor), janitor, clock)
        }
    }

    static func ask(_ provider: TwelveLabsProvider, _ query: String = "What happens?", video: String = "clip.mp4") async -> Bool {
        let (chunks, result) = await TwelveLabsTesting.run(provider, query: query, video: VideoReference(videoPath: video))
        return (try? result.get()) != nil && chunks.joined() == TwelveLabsTesting.defaultText
    }

    static func deletes(_ fake: FakeUpstream) async throws -> [String] {
        try await fake.requests().filter { $0["method"] as? String == "DELETE" }.compactMap { $0["path"] as? String }
    }

    static func uploads(_ fake: FakeUpstream) async throws -> [[String: Any]] {
        try await Assets.records(fake, path: "/v1.3/assets", method: "POST")
    }

    @Test("a sweep deletes an asset no question asked for during keep_unused; the next question uploads again")
    func sweepDeletesUnused() async throws {
        try await Self.withProvider { fake, provider, janitor, clock in
            #expect(await Self.ask(provider))
            let asset = try #require(try await Self.uploads(fake).first?["asset_id"] as? String)

            clock.advance(minutes: 40)
            #expect(await Self.ask(provider, "Who is there?"), "a second question reuses the asset, and counts as use")
            clock.advance(minutes: 40)
            #expect(await janitor.sweep() == 0, "40 minutes since the last question: kept")
            #expect(try await Self.deletes(fake).isEmpty)

            clock.advance(minutes: 21)
            #expect(await janitor.sweep() == 1)
            #expect(try await Self.deletes(fake) == ["/v1.3/assets/\(asset)"])
            #expect(provider.assets.readyCount == 0)
            #expect(await janitor.sweep() == 0, "nothing left to delete")

            #expect(await Self.ask(provider, "And now?"))
            #expect(try await Self.uploads(fake).count == 2, "the deleted asset is not used again")
        }
    }

    @Test("an asset a running question uses is not deleted, however long the answer takes")
    func inUseIsKept() async throws {
        try await Self.withProvider { fake, provider, janitor, clock in
            // TwelveLabs answers this one after 1.5 s.
            let slow = Task { await Self.ask(provider, "What happens? [fake:delay=1500]") }
            while try await Assets.analyzeRecords(fake).isEmpty { try await Task.sleep(for: .milliseconds(10)) }

            clock.advance(minutes: 120)
            #expect(await janitor.sweep() == 0)
            #expect(await slow.value)
            #expect(try await Self.deletes(fake).isEmpty)
            // Done now; its last question was asked two hours ago.
            #expect(await janitor.sweep() == 1)
        }
    }

    @Test("at exit every asset is deleted, in use or recent, unless the model keeps them")
    func deleteAllAtExit() async throws {
        try await Assets.withFakeAndMedia(fileSize: 6_000, trailer: "[fake:asset_polls=0]") { fake, directory, bytes in
            // A second, different video.
            try (bytes + Array("other".utf8)).withUnsafeBufferPointer { try Data($0).write(to: URL(fileURLWithPath: directory + "/other.mp4")) }
            let janitor = UploadJanitor(logger: Logger(label: "janitor"))
            let deleting = try Self.provider(fake, mediaRoot: directory, janitor: janitor, keepUnused: nil)
            let keeping = try Self.provider(fake, mediaRoot: directory, janitor: janitor, deleteOnExit: false)
            #expect(await Self.ask(deleting))
            #expect(await Self.ask(deleting, video: "other.mp4"))
            #expect(await Self.ask(keeping))
            #expect(janitor.sweepInterval == .seconds(300), "a tenth of the shortest keep_unused (1 h), at most 5 min")
            #expect(await janitor.sweep() == 0, "keep_unused nil (0 in the registry): never swept")

            #expect(await janitor.deleteAll(within: .seconds(10)) == 2)
            let uploaded = try await Self.uploads(fake).compactMap { $0["asset_id"] as? String }
            try #require(uploaded.count == 3)
            #expect(Set(try await Self.deletes(fake)) == Set(uploaded.prefix(2).map { "/v1.3/assets/\($0)" }))
            #expect(keeping.assets.readyCount == 1)
        }
    }

    @Test("an asset TwelveLabs no longer has counts as deleted; a refused delete is logged and the asset forgotten")
    func deleteOutcomes() async throws {
        try await Self.withProvider { fake, provider, _, _ in
            #expect(await Self.ask(provider))
            let asset = try #require(try await Self.uploads(fake).first?["asset_id"] as? String)
            // Gone already (someone deleted it in the console): 404 is success.
            #expect(await provider.uploader.delete(TwelveLabsAsset(id: asset, status: "ready")))
            #expect(await provider.uploader.delete(TwelveLabsAsset(id: asset, status: "ready")))
            // A key TwelveLabs refuses: 401, not retried, reported as not deleted.
            let refused = TwelveLabsProvider(
                settings: TwelveLabsTesting.settings(fake, key: "bad-key"), assets: TwelveLabsAssetOptions(), logger: Logger(label: "t"))
            #expect(await refused.uploader.delete(TwelveLabsAsset(id: asset, status: "ready")) == false)
        }
    }

    @Test("deleting at exit gives up after its limit")
    func exitLimit() async throws {
        let janitor = UploadJanitor(logger: Logger(label: "janitor"))
        janitor.register(UploadJanitor.Member(
            name: "stuck", keepUnused: nil, deleteOnExit: true, sweep: { _ in 0 },
            drain: {
                try? await Task.sleep(for: .seconds(30))
                return 1
            }))
        let started = ContinuousClock.now
        #expect(await janitor.deleteAll(within: .milliseconds(200)) == nil)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("Gemini files: kept while Google keeps them unless keep_unused says otherwise, deleted at exit")
    func geminiFiles() async throws {
        let clips = try GeminiFilesTests.clips()
        let fake = try await FakeUpstream.start()
        defer { fake.stop() }
        let clock = TestClock()
        let janitor = UploadJanitor(logger: Logger(label: "janitor"), now: { clock.now })
        let video = VideoInputs(mediaRoot: try MediaRoot(path: clips.directory), library: VideoLibrary(logger: Logger(label: "t")))
        let fast = GeminiTesting.fastFiles
        var short = fast
        short.keepUnused = .seconds(600)
        let swept = GeminiProvider(
            settings: GeminiTesting.settings(fake), video: video, files: short, uploads: janitor, name: "swept", logger: Logger(label: "t"))
        let kept = GeminiProvider(
            settings: GeminiTesting.settings(fake), video: video, files: fast, uploads: janitor, name: "kept", logger: Logger(label: "t"))
        for provider in [swept, kept] {
            let (text, _) = await GeminiTesting.run(provider, query: "What happens?", video: VideoReference(videoPath: clips.plain))
            #expect(text == GeminiTesting.defaultText)
        }
        let uploaded = GeminiTesting.uploadBodies(try await fake.requests()).count
        #expect(uploaded == 2)

        clock.advance(minutes: 11)
        #expect(await janitor.sweep() == 1, "only the model with keep_unused")
        #expect(swept.files.readyCount == 0 && kept.files.readyCount == 1)
        #expect(await janitor.deleteAll(within: .seconds(10)) == 1)
        let deletes = try await fake.requests().filter { $0["method"] as? String == "DELETE" }
        #expect(deletes.count == 2)
        #expect(deletes.allSatisfy { ($0["path"] as? String)?.hasPrefix("/v1beta/files/") == true && $0["status"] as? Int == 200 })
        // Gone: Google answers a deleted file with 403, which a second delete takes as done.
        let file = GeminiFile(name: "files/" + ((deletes[0]["path"] as? String)?.split(separator: "/").last.map(String.init) ?? ""),
                              uri: "", mimeType: "video/mp4", state: "ACTIVE")
        #expect(await swept.uploader.delete(file))
    }

    @Test("the sweep interval is a tenth of the shortest keep_unused, between 10 s and 5 min")
    func sweepInterval() {
        func interval(_ keeps: [Duration?]) -> Duration {
            let janitor = UploadJanitor(logger: Logger(label: "janitor"))
            for keep in keeps {
                janitor.register(UploadJanitor.Member(name: "m", keepUnused: keep, deleteOnExit: true, sweep: { _ in 0 }, drain: { 0 }))
            }
            return janitor.sweepInterval
        }
        #expect(interval([]) == .seconds(300))
        #expect(interval([nil]) == .seconds(300))
        #expect(interval([.seconds(600), .seconds(7_200)]) == .seconds(60))
        #expect(interval([.seconds(30)]) == .seconds(10))
    }
}
