internal import CChorusCurl
import Foundation

/// One transfer: the hand-over point between its easy handle, driven by a ``CurlMultiLoop`` thread,
/// and the one async task reading the response.
///
/// The task reads the body in one of two ways: chunk by chunk (`nextChunk`, the task resumed per
/// chunk), or by lending a step that the loop thread calls with each chunk as it arrives
/// (`drive`, the task resumed once per run of chunks; see `CurlTransfer+Drive.swift`).
///
/// Bytes nobody takes at once go through a bounded buffer. When it is full the loop pauses the
/// transfer (`curl_easy_pause(CURLPAUSE_RECV)`), so curl stops reading that socket and TCP pushes
/// back on the upstream; the reader's take that frees half the buffer asks the loop to continue
/// it. A slow reader therefore pauses the upstream instead of growing memory, and never holds up
/// the loop's other transfers.
final class CurlTransfer: @unchecked Sendable {
    // Every field below is guarded by `lock`.
    let lock = NSLock()
    private var chunks: [[UInt8]] = []
    private var chunksHead = 0
    private var bufferedBytes = 0
    var head: HTTPResponseHead?
    var headWaiter: CheckedContinuation<HTTPResponseHead, any Error>?
    /// Unsafe (no allocation per wait; a streaming answer waits once per upstream chunk): every
    /// resume first clears it under `lock`, so it is resumed exactly once.
    private var bodyWaiter: UnsafeContinuation<[UInt8]?, any Error>?
    /// The running `drive`: the loop thread hands it every chunk while it is set.
    var driver: Driver?
    /// The loop thread is inside the driver's step (the lock is not held meanwhile). Whoever ends
    /// the drive then leaves resuming its task to the loop thread, once the step returned.
    var stepping = false
    var result: Result<Void, any Error>?
    var cancelled = false
    /// The buffer filled up and the reader has not freed half of it since.
    private var paused = false

    // Only touched on the loop thread (header callback and `deliverHead`).
    var pendingHeaders: [HTTPHeader] = []
    var pendingStatus = 0
    /// The easy handle while the transfer runs in the loop (loop thread only).
    var easy: UnsafeMutableRawPointer?

    let request: HTTPRequestSpec
    let capacity: Int
    /// The loop running the transfer; cancellation and resumption are commands to it.
    let loop: CurlMultiLoop

    init(request: HTTPRequestSpec, capacity: Int, loop: CurlMultiLoop) {
        self.request = request
        self.capacity = max(1, capacity)
        self.loop = loop
    }

    // MARK: Reader side (async)

    func awaitHead() async throws -> HTTPResponseHead {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponseHead, any Error>) in
                lock.lock()
                if let head {
                    lock.unlock()
                    continuation.resume(returning: head)
                } else if case .failure(let error)? = result {
                    lock.unlock()
                    continuation.resume(throwing: error)
                } else if cancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    headWaiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    func nextChunk() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[UInt8]?, any Error>) in
                lock.lock()
                if let (chunk, resume) = takeChunkLocked() {
                    lock.unlock()
                    if resume { loop.resume(self) }
                    continuation.resume(returning: chunk)
                } else if let result {
                    lock.unlock()
                    continuation.resume(with: result.map { nil })
                } else if cancelled {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    bodyWaiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Takes the oldest buffered chunk (`lock` held); `resume` is true when the transfer was paused
    /// and the reader has now freed half the buffer: the caller asks the loop to continue it.
    func takeChunkLocked() -> (chunk: [UInt8], resume: Bool)? {
        guard chunksHead < chunks.count else { return nil }
        let chunk = chunks[chunksHead]
        chunks[chunksHead] = []
        chunksHead += 1
        if chunksHead == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            chunksHead = 0
        }
        bufferedBytes -= chunk.count
        // Continue a paused transfer once half the buffer is free, not at the first free byte:
        // one resume command per half buffer instead of one per chunk.
        let resume = paused && bufferedBytes <= capacity / 2 && result == nil && !cancelled
        if resume { paused = false }
        return (chunk, resume)
    }

    /// Aborts the transfer: the loop removes it at once (its connection is closed, since the
    /// response was not read to the end), and a waiting reader gets `CancellationError`.
    func cancel() {
        lock.lock()
        guard !cancelled else {
            lock.unlock()
            return
        }
        cancelled = true
        let running = result == nil
        let head = headWaiter
        let body = bodyWaiter
        headWaiter = nil
        bodyWaiter = nil
        // A drive inside its step is ended by the loop thread once the step returned.
        let drive = stepping ? nil : driver
        if !stepping { driver = nil }
        lock.unlock()
        if running { loop.cancel(self) }
        head?.resume(throwing: CancellationError())
        body?.resume(throwing: CancellationError())
        drive?.end(.failure(CancellationError()))
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    // MARK: Loop thread side

    enum Received {
        /// Taken; the transfer may go on.
        case taken
        /// Taken, and the buffer is now full: the loop pauses the transfer after this round.
        case takenAndFull
        /// The transfer was cancelled: abort it.
        case cancelled
    }

    /// Called from the write callback. Always takes the bytes (the buffer may overshoot its
    /// capacity by what curl reads in one round; the loop then pauses the transfer). Returning
    /// `CURL_WRITEFUNC_PAUSE` instead would have curl hold the refused bytes and replay them on
    /// resume, the path behind curl's stalled-after-unpause reports (curl issues #4966, #13337)
    /// that was only reworked in libcurl 8; Debian 12 ships 7.88.
    func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> Received {
        lock.lock()
        if cancelled {
            lock.unlock()
            return .cancelled
        }
        if let driver {
            // Unlocks.
            return step(driver, with: bytes)
        }
        if let waiter = bodyWaiter {
            bodyWaiter = nil
            lock.unlock()
            waiter.resume(returning: Array(bytes))
            return .taken
        }
        chunks.append(Array(bytes))
        bufferedBytes += bytes.count
        guard bufferedBytes >= capacity, !paused else {
            lock.unlock()
            return .taken
        }
        paused = true
        lock.unlock()
        return .takenAndFull
    }

    /// Whether the reader still has not made room since the buffer filled up (the loop checks
    /// before it pauses the transfer; a reader that made room meanwhile has asked to resume).
    var isWaitingForRoom: Bool {
        lock.lock()
        defer { lock.unlock() }
        return paused && result == nil && !cancelled
    }

    /// Called by the loop once the transfer ended (its handle already back in the loop's hands).
    func complete(_ outcome: Result<Void, any Error>) {
        lock.lock()
        var outcome = outcome
        if cancelled { outcome = .failure(CancellationError()) }
        result = outcome
        let head = headWaiter
        let body = bodyWaiter
        let drive = driver
        headWaiter = nil
        bodyWaiter = nil
        driver = nil
        let headValue = self.head
        lock.unlock()
        if let head {
            if let headValue {
                head.resume(returning: headValue)
            } else {
                head.resume(with: outcome.flatMap { .failure(CurlError(code: 8, message: "the upstream sent no HTTP response head")) })
            }
        }
        body?.resume(with: outcome.map { nil })
        drive?.end(outcome.map { .ended })
    }
}
