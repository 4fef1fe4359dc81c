public import ChorusCore
import Synchronization

/// A provider that writes some chunks, then hangs until its task is cancelled, like a stuck upstream.
///
/// It counts the cancellations it observed, so tests can prove a timeout or a cancelled call really
/// stopped it.
///
/// ```swift
/// let provider = StallingProvider(after: ["The video", " shows"])
/// // ... run and time out ...
/// #expect(await provider.waitForCancellation(timeout: .seconds(2)))
/// ```
public final class StallingProvider: ModelProvider {
    public let kind: String
    /// Chunks written before stalling.
    public let chunks: [String]
    /// Delay before the first chunk.
    public let firstChunkDelay: Duration
    /// Delay between chunks.
    public let interval: Duration
    private let cancelled = Atomic<Int>(0)

    public init(
        kind: String = "stalling", after chunks: [String] = [], firstChunkDelay: Duration = .zero,
        interval: Duration = .zero
    ) {
        self.kind = kind
        self.chunks = chunks
        self.firstChunkDelay = firstChunkDelay
        self.interval = interval
    }

    /// How many calls ended because their task was cancelled.
    public var cancellations: Int {
        cancelled.load(ordering: .sequentiallyConsistent)
    }

    public func generate(_ prompt: ModelPrompt, output: ModelOutputWriter) async throws -> ModelCompletion {
        do {
            for (index, chunk) in chunks.enumerated() {
                let delay = index == 0 ? firstChunkDelay : interval
                if delay > .zero { try await Task.sleep(for: delay) }
                try await output.write(chunk)
            }
            while true { try await Task.sleep(for: .seconds(3_600)) }
        } catch {
            if error is CancellationError || Task.isCancelled { cancelled.add(1, ordering: .sequentiallyConsistent) }
            throw error
        }
    }

    /// Waits up to `timeout` for at least `count` observed cancellations; returns whether they happened.
    public func waitForCancellation(count: Int = 1, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        // Polling is fine in a test helper: the interval is short and the wait is bounded.
        while cancellations < count {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}
