import Synchronization
import Testing
@testable import ChorusMedia

@Suite("SharedCache runs each miss once")
struct SharedCacheTests {
    struct Failure: Error {}

    final class Counter: Sendable {
        private let storage = Mutex(0)
        var value: Int { storage.withLock { $0 } }
        func increment() { storage.withLock { $0 += 1 } }
    }

    @Test func concurrentCallersShareOneRun() async throws {
        let cache = SharedCache<String, Int>(capacity: 4)
        let runs = Counter(), gate = Gate()
        let produce: @Sendable () async throws -> Int = {
            runs.increment()
            await gate.wait()
            return 42
        }
        let first = Task { try await cache.value(for: "k", produce: produce) }
        let second = Task { try await cache.value(for: "k", produce: produce) }
        await eventually { cache.waiters(for: "k") == 2 }
        #expect(cache.waiters(for: "k") == 2)
        gate.open()
        #expect(try await first.value == 42)
        #expect(try await second.value == 42)
        #expect(try await cache.value(for: "k", produce: produce) == 42)
        #expect(runs.value == 1)
    }

    @Test func cancelledWaiterLeavesWhileTheRunContinues() async throws {
        let cache = SharedCache<String, Int>(capacity: 4)
        let runs = Counter(), gate = Gate()
        let produce: @Sendable () async throws -> Int = {
            runs.increment()
            await gate.wait()
            return 7
        }
        let leaving = Task { try await cache.value(for: "k", produce: produce) }
        let staying = Task { try await cache.value(for: "k", produce: produce) }
        await eventually { cache.waiters(for: "k") == 2 }
        leaving.cancel()
        // The cancelled caller returns before the run finishes (the gate is still closed).
        await #expect(throws: CancellationError.self) { try await leaving.value }
        #expect(!gate.isOpen)
        gate.open()
        #expect(try await staying.value == 7)
        #expect(runs.value == 1)
    }

    @Test func runIsCancelledWhenEveryWaiterLeaves() async throws {
        let cache = SharedCache<String, Int>(capacity: 4)
        let runs = Counter(), runCancelled = Gate()
        let produce: @Sendable () async throws -> Int = {
            runs.increment()
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                runCancelled.open()
                throw error
            }
            return 1
        }
        let only = Task { try await cache.value(for: "k", produce: produce) }
        await eventually { cache.waiters(for: "k") == 1 }
        only.cancel()
        await #expect(throws: CancellationError.self) { try await only.value }
        await runCancelled.wait()
        #expect(cache.runsInFlight == 0)
        #expect(cache.cachedValue(for: "k") == nil)
    }

    @Test func alreadyCancelledCallerDoesNotStartARun() async throws {
        let cache = SharedCache<String, Int>(capacity: 4)
        let runs = Counter()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await cache.value(for: "k") { runs.increment(); return 1 }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(runs.value == 0)
    }

    @Test func failuresAreNotCached() async throws {
        let cache = SharedCache<String, Int>(capacity: 4)
        let runs = Counter()
        let produce: @Sendable () async throws -> Int = {
            runs.increment()
            if runs.value == 1 { throw Failure() }
            return 5
        }
        await #expect(throws: Failure.self) { try await cache.value(for: "k", produce: produce) }
        #expect(try await cache.value(for: "k", produce: produce) == 5)
        #expect(try await cache.value(for: "k", produce: produce) == 5)
        #expect(runs.value == 2)
    }

    @Test func leastRecentlyUsedIsEvicted() async throws {
        let cache = SharedCache<String, String>(capacity: 2)
        let runs = Counter()
        @Sendable func load(_ key: String) async throws -> String {
            try await cache.value(for: key) { runs.increment(); return key.uppercased() }
        }
        _ = try await load("a")
        _ = try await load("b")
        _ = try await load("a")      // "a" is now the most recent
        _ = try await load("c")      // evicts "b"
        #expect(runs.value == 3)
        #expect(cache.count == 2)
        #expect(cache.cachedValue(for: "a") == "A")
        #expect(cache.cachedValue(for: "b") == nil)
        #expect(try await load("b") == "B")
        #expect(runs.value == 4)
    }
}
