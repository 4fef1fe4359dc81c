import NIOCore

/// How long a flush may wait for more output of the same burst before it is written.
///
/// On an event loop that also runs the calls (``EventLoopTaskExecutor``), the pieces of one burst
/// are written by jobs that run one after another: a model's last chunk, its `model_end`, the call's
/// `complete` each come from a different task resuming. Written as they come, each is a syscall
/// (and, on loopback, a wake-up of the reader); waiting behind the jobs already queued on the
/// executor sends them together. The wait only happens while such jobs are queued, so a lone event
/// is not held back, and these bounds keep it short when the loop is never idle.
///
/// ```swift
/// var configuration = ChorusRPCServer.Configuration()
/// configuration.flushCoalescing = FlushCoalescing(maxPasses: 8, maxDelay: .microseconds(50))
/// configuration.flushCoalescing = .immediate  // one write per loop pass, as before
/// ```
public struct FlushCoalescing: Sendable, Hashable {
    /// Times a flush goes back behind the executor's queued jobs at most.
    public var maxPasses: Int
    /// A flush waits only while the first output it carries is younger than this (under load the
    /// executor always has jobs queued; this bounds the latency the wait adds).
    public var maxDelay: Duration
    /// A flush never waits once this many bytes are buffered.
    public var maxBytes: Int

    public init(maxPasses: Int = 16, maxDelay: Duration = .microseconds(100), maxBytes: Int = 64 * 1024) {
        self.maxPasses = maxPasses
        self.maxDelay = maxDelay
        self.maxBytes = maxBytes
    }

    /// Never wait: write on the loop's next pass.
    public static let immediate = FlushCoalescing(maxPasses: 0, maxDelay: .zero, maxBytes: 0)

    /// ``maxDelay`` in nanoseconds (negative durations count as zero).
    package var maxDelayNanos: UInt64 {
        let (seconds, attoseconds) = maxDelay.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    /// Monotonic nanoseconds (CLOCK_MONOTONIC through the vDSO, a few tens of nanoseconds).
    package static func nowNanos() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}

extension EventLoopTaskExecutor {
    /// Lets the jobs queued on this executor run before the calling task goes on, within
    /// `coalescing`'s passes and delay: a task about to write output that other tasks are still
    /// adding to calls this first. The calling task must prefer this executor (each pass is a
    /// `Task.yield()`, which puts it back at the end of the loop's queue).
    public func letQueuedJobsRun(_ coalescing: FlushCoalescing) async {
        guard hasQueuedJobs, coalescing.maxPasses > 0 else { return }
        let started = FlushCoalescing.nowNanos()
        let maxDelay = coalescing.maxDelayNanos
        var passes = 0
        while hasQueuedJobs, passes < coalescing.maxPasses, FlushCoalescing.nowNanos() &- started < maxDelay {
            await Task.yield()
            passes += 1
        }
    }
}
