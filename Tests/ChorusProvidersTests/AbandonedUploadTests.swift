import ChorusCore
@testable import ChorusProviders
import ChorusTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Uploads that were created but will never be used (every call waiting for one was cancelled
/// while the provider processed it, or the processing failed) are in no cache, so neither a sweep
/// nor the exit would find them: `UploadJanitor.deleteAbandoned` deletes them, and `deleteAll`
/// waits for those deletions. Against the fake TwelveLabs over HTTP.
@Suite("Abandoned uploads", .timeLimit(.minutes(1)))
struct AbandonedUploadTests {
    typealias Assets = TwelveLabsAssetTests

    /// Polls `condition` every 20 ms for up to 10 s.
    static func eventually(_ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// A fake TwelveLabs whose `clip.mp4` carries `behavior`, and a provider with a janitor.
    static func withProvider(
        _ behavior: String, _ body: (FakeUpstream, TwelveLabsProvider, UploadJanitor) async throws -> Void
    ) async throws {
        try await Assets.withFakeAndMedia(fileSize: 6_000, trailer: behavior) { fake, directory, _ in
            let janitor = UploadJanitor(logger: Logger(label: "janitor"))
            try await body(fake, try UploadJanitorTests.provider(fake, mediaRoot: directory, janitor: janitor), janitor)
        }
    }

    static func assetPolls(_ fake: FakeUpstream) async throws -> Int {
        try await fake.requests().count { ($0["method"] as? String) == "GET" && ($0["path"] as? String)?.hasPrefix("/v1.3/assets/") == true }
    }

    @Test("an asset still processing when its only call is cancelled is deleted, and deleteAll waits for that")
    func cancelledWhileProcessing() async throws {
        // TwelveLabs never finishes processing this one.
        try await Self.withProvider("[fake:asset_polls=1000000]") { fake, provider, janitor in
            let call = Task { await UploadJanitorTests.ask(provider) }
            #expect(try await Self.eventually { try await Self.assetPolls(fake) >= 2 }, "the asset exists and is being polled")
            call.cancel()
            #expect(await call.value == false)

            #expect(await janitor.deleteAll(within: .seconds(10)) == 0, "no finished upload to delete")
            let asset = try #require(try await UploadJanitorTests.uploads(fake).first?["asset_id"] as? String)
            #expect(try await UploadJanitorTests.deletes(fake) == ["/v1.3/assets/\(asset)"], "deleted by the time deleteAll returned")
            #expect(provider.assets.runningUploads == 0)
            #expect(provider.assets.readyCount == 0)
        }
    }

    @Test("an asset whose processing failed is deleted; the call reports the failure")
    func processingFailed() async throws {
        try await Self.withProvider("[fake:asset_polls=1;asset_fail]") { fake, provider, _ in
            let (_, result) = await TwelveLabsTesting.run(provider, query: "What happens?", video: VideoReference(videoPath: "clip.mp4"))
            guard case .failure(let error) = result else {
                Issue.record("a failed asset must fail the call")
                return
            }
            #expect(error.message.contains("clip.mp4"), "\(error.message)")
            let asset = try #require(try await UploadJanitorTests.uploads(fake).first?["asset_id"] as? String)
            // Without waiting for deleteAll: the deletion runs on its own.
            #expect(try await Self.eventually { try await UploadJanitorTests.deletes(fake) == ["/v1.3/assets/\(asset)"] })
        }
    }

    @Test("an asset used by a call is not deleted when another call waiting for it is cancelled")
    func otherWaiterKeepsIt() async throws {
        try await Self.withProvider("[fake:asset_polls=3]") { fake, provider, _ in
            let leaving = Task { await UploadJanitorTests.ask(provider) }
            let staying = Task { await UploadJanitorTests.ask(provider, "Who is there?") }
            let polled = try await Self.eventually { try await Self.assetPolls(fake) >= 1 }
            #expect(polled)
            leaving.cancel()
            #expect(await staying.value, "the other call gets its answer")
            let uploads = try await UploadJanitorTests.uploads(fake)
            let deletes = try await UploadJanitorTests.deletes(fake)
            #expect(uploads.count == 1, "one upload for both")
            #expect(deletes.isEmpty, "the asset is in use and cached")
            #expect(provider.assets.readyCount == 1)
        }
    }

    @Test("deleteAll waits for running uploads to end and for abandoned uploads' deletions")
    func deleteAllWaits() async throws {
        let janitor = UploadJanitor(logger: Logger(label: "janitor"))
        let running = Mutex(1)
        let deletedAbandoned = Mutex(false)
        janitor.register(UploadJanitor.Member(
            name: "slow", keepUnused: nil, deleteOnExit: true, sweep: { _ in 0 }, drain: { 0 },
            runningUploads: { running.withLock { $0 } }))
        // An upload still running (it will hand over what it created), and a slow deletion of an
        // abandoned one.
        Task {
            try? await Task.sleep(for: .milliseconds(200))
            janitor.deleteAbandoned(model: "slow") {
                try? await Task.sleep(for: .milliseconds(200))
                deletedAbandoned.withLock { $0 = true }
                return true
            }
            running.withLock { $0 = 0 }
        }
        let started = ContinuousClock.now
        #expect(await janitor.deleteAll(within: .seconds(10)) == 0)
        #expect(deletedAbandoned.withLock { $0 }, "returned before the abandoned upload was deleted")
        #expect(ContinuousClock.now - started >= .milliseconds(400))
    }
}
