import ChorusCore
@testable import ChorusProviders
import Foundation
import Synchronization
import Testing

/// The upload cache alone: sharing one upload, cancellation, expiry, invalidation.
@Suite("Gemini file store")
struct GeminiFileStoreTests {
    /// An upload that counts its runs and finishes only when the test opens it.
    final class Gate: Sendable {
        private let state = Mutex<(runs: Int, cancelled: Int, waiters: [CheckedContinuation<Void, Never>], open: Bool)>(
            (0, 0, [], false))

        var runs: Int { state.withLock { $0.runs } }
        var cancelled: Int { state.withLock { $0.cancelled } }

        func open() {
            let waiters = state.withLock { state in
                state.open = true
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func upload(_ file: GeminiFile) -> @Sendable () async throws -> GeminiFile {
            { [self] in
                state.withLock { $0.runs += 1 }
                await withCheckedContinuation { continuation in
                    let open = state.withLock { state in
                        if !state.open { state.waiters.append(continuation) }
                        return state.open
                    }
                    if open { continuation.resume() }
                }
                if Task.isCancelled {
                    state.withLock { $0.cancelled += 1 }
                    throw CancellationError()
                }
                return file
            }
        }
    }

    static func file(_ id: String, expires: Date? = nil) -> GeminiFile {
        GeminiFile(name: "files/\(id)", uri: "http://fake/v1beta/files/\(id)", mimeType: "video/mp4", state: "ACTIVE", expirationTime: expires)
    }

    /// Waits (without a wall-clock assertion) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async {
        while !condition() { try? await Task.sleep(for: .milliseconds(5)) }
    }

    @Test("concurrent calls for the same video share one upload; a later call uses the cache")
    func sharesOneUpload() async throws {
        let store = GeminiFileStore()
        let gate = Gate()
        let upload = gate.upload(Self.file("a"))
        async let first = store.file(for: "sha-a", upload: upload)
        async let second = store.file(for: "sha-a", upload: upload)
        await Self.eventually { store.waiterCount(for: "sha-a") == 2 }
        #expect(gate.runs == 1)
        gate.open()
        let (one, two) = try await (first, second)
        #expect(one.uri == two.uri)
        let third = try await store.file(for: "sha-a", upload: upload)
        #expect(third.uri == one.uri)
        #expect(gate.runs == 1)
    }

    @Test("different videos upload separately")
    func differentKeys() async throws {
        let store = GeminiFileStore()
        let gate = Gate()
        gate.open()
        _ = try await store.file(for: "sha-a", upload: gate.upload(Self.file("a")))
        _ = try await store.file(for: "sha-b", upload: gate.upload(Self.file("b")))
        #expect(gate.runs == 2)
    }

    @Test("a cancelled waiter leaves at once; the upload goes on for the others")
    func cancelOneWaiter() async throws {
        let store = GeminiFileStore()
        let gate = Gate()
        let upload = gate.upload(Self.file("a"))
        let leaving = Task { try await store.file(for: "sha-a", upload: upload) }
        await Self.eventually { gate.runs == 1 }
        let staying = Task { try await store.file(for: "sha-a", upload: upload) }
        await Self.eventually { store.waiterCount(for: "sha-a") == 2 }
        leaving.cancel()
        await #expect(throws: CancellationError.self) { try await leaving.value }
        gate.open()
        #expect(try await staying.value.uri == Self.file("a").uri)
        #expect(gate.cancelled == 0)
        #expect(gate.runs == 1)
    }

    @Test("when every waiter is cancelled the upload is cancelled too")
    func cancelAllWaiters() async throws {
        let store = GeminiFileStore()
        let gate = Gate()
        let task = Task { try await store.file(for: "sha-a", upload: gate.upload(Self.file("a"))) }
        await Self.eventually { gate.runs == 1 }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(store.uploadsInFlight == 0)
        gate.open()
        await Self.eventually { gate.cancelled == 1 }
    }

    @Test("an expired file is uploaded again")
    func expiry() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        let store = GeminiFileStore(now: { clock.withLock { $0 } })
        let gate = Gate()
        gate.open()
        let expires = Date(timeIntervalSince1970: 1_000_000 + 3600)
        let upload = gate.upload(Self.file("a", expires: expires))
        _ = try await store.file(for: "sha-a", upload: upload)
        _ = try await store.file(for: "sha-a", upload: upload)
        #expect(gate.runs == 1)
        // Within the safety margin of its expiry the file no longer counts as usable.
        clock.withLock { $0 = expires.addingTimeInterval(-60) }
        _ = try await store.file(for: "sha-a", upload: upload)
        #expect(gate.runs == 2)
    }

    @Test("a file without expirationTime is kept for the documented 48 hours")
    func defaultLifetime() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_000_000))
        let store = GeminiFileStore(now: { clock.withLock { $0 } })
        let gate = Gate()
        gate.open()
        let upload = gate.upload(Self.file("a"))
        _ = try await store.file(for: "sha-a", upload: upload)
        clock.withLock { $0 = $0.addingTimeInterval(47 * 3600) }
        _ = try await store.file(for: "sha-a", upload: upload)
        #expect(gate.runs == 1)
        clock.withLock { $0 = $0.addingTimeInterval(2 * 3600) }
        _ = try await store.file(for: "sha-a", upload: upload)
        #expect(gate.runs == 2)
    }

    @Test("invalidate forgets only the named upload")
    func invalidate() async throws {
        let store = GeminiFileStore()
        let gate = Gate()
        gate.open()
        let upload = gate.upload(Self.file("a"))
        let file = try await store.file(for: "sha-a", upload: upload)
        store.invalidate(key: "sha-a", uri: "http://fake/v1beta/files/other")
        _ = try await store.file(for: "sha-a", upload: upload)
        #expect(gate.runs == 1)
        store.invalidate(key: "sha-a", uri: file.uri)
        _ = try await store.file(for: "sha-a", upload: upload)
        #expect(gate.runs == 2)
    }

    @Test("a failed upload is reported to every waiter and not cached")
    func failureNotCached() async throws {
        let store = GeminiFileStore()
        let runs = Atomic<Int>(0)
        let failing: @Sendable () async throws -> GeminiFile = {
            runs.add(1, ordering: .relaxed)
            throw ChorusError(.unavailable, "upload broke")
        }
        await #expect(throws: ChorusError.self) { try await store.file(for: "sha-a", upload: failing) }
        await #expect(throws: ChorusError.self) { try await store.file(for: "sha-a", upload: failing) }
        #expect(runs.load(ordering: .relaxed) == 2)
    }

    @Test("RFC 3339 timestamps as the Files API writes them")
    func timestamps() {
        let base = GeminiFile.parseTimestamp("2026-08-21T10:00:00Z")
        #expect(base == Date(timeIntervalSince1970: 1_787_306_400))
        #expect(GeminiFile.parseTimestamp("2026-08-21T10:00:00.250000Z") == base.map { $0.addingTimeInterval(0.25) })
        #expect(GeminiFile.parseTimestamp("2026-08-21T12:00:00+02:00") == base)
        #expect(GeminiFile.parseTimestamp("yesterday") == nil)
    }
}
