internal import CChorusCurl
import Foundation

/// One transfer: the hand-over point between its easy handle, driven by a ``CurlMultiLoop`` thread,
/// and the one async task reading the response.
///
/// The body goes through a bounded buffer. When it is full the loop pauses the transfer
/// (`curl_easy_pause(CURLPAUSE_RECV)`), so curl stops reading that socket and TCP pushes back on
/// the upstream; the reader's take that frees half the buffer asks the loop to continue it. A
/// slow reader therefore pauses the upstream instead of growing memory, and never holds up the
/// loop's other transfers.
final class CurlTransfer: @unchecked Sendable {
    // Every field below is guarded by `lock`.
    private let lock = NSLock()
    private var chunks: [[UInt8]] = []
    private var chunksHead = 0
    private var bufferedBytes = 0
    private var head: HTTPResponseHead?
    private var headWaiter: CheckedContinuation<HTTPResponseHead, any Error>?
    /// Unsafe (no allocation per wait; a streaming answer waits once per upstream chunk): every
    /// resume first clears it under `lock`, so it is resumed exactly once.
    private var bodyWaiter: UnsafeContinuation<[UInt8]?, any Error>?
    private var result: Result<Void, any Error>?
    private var cancelled = false
    /// The buffer filled up and the reader has not freed half of it since.
    private var paused = false

    // Only touched on the loop thread (header callback and `deliverHead`).
    private var pendingHeaders: [HTTPHeader] = []
    private var pendingStatus = 0
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
                if chunksHead < chunks.count {
                    let chunk = chunks[chunksHead]
                    chunks[chunksHead] = []
                    chunksHead += 1
                    if chunksHead == chunks.count {
                        chunks.removeAll(keepingCapacity: true)
                        chunksHead = 0
                    }
                    bufferedBytes -= chunk.count
                    // Continue a paused transfer once half the buffer is free, not at the first free
                    // byte: one resume command per half buffer instead of one per chunk.
                    let resume = paused && bufferedBytes <= capacity / 2 && result == nil && !cancelled
                    if resume { paused = false }
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
        lock.unlock()
        if running { loop.cancel(self) }
        head?.resume(throwing: CancellationError())
        body?.resume(throwing: CancellationError())
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

    /// Called from the header callback with one raw header line (bytes as curl hands them).
    /// Returns true when the line completed the final (non-1xx) head.
    ///
    /// Parsed on bytes: Foundation's `trimmingCharacters` here cost more than the rest of the
    /// head handling on the first-token path.
    func receiveHeaderLine(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        let line = CurlTransfer.trimmed(raw[...])
        if line.starts(with: CurlTransfer.statusPrefix) {
            // A new status line (after a 100 Continue or a redirect) starts a new header block.
            // "HTTP/1.1 200 OK": the status is the second space-separated field.
            var status = 0
            if let space = line.firstIndex(of: UInt8(ascii: " ")) {
                for byte in line[(space + 1)...] {
                    guard byte >= 48, byte <= 57 else { break }
                    status = status * 10 + Int(byte - 48)
                }
            }
            pendingStatus = status
            pendingHeaders = []
            return false
        }
        if line.isEmpty {
            // End of a header block; 1xx blocks are interim.
            guard pendingStatus >= 200 else { return false }
            lock.lock()
            defer { lock.unlock() }
            guard head == nil else { return false }
            // Handed to the reader by `deliverHead()` once the current `curl_multi_perform` returns,
            // not here: the first body bytes usually arrive in the same read, and a reader woken
            // now would find no body yet and need a second wake-up (a thread hop each) for them.
            head = HTTPResponseHead(status: pendingStatus, headers: pendingHeaders)
            return true
        }
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = String(decoding: line[..<colon].map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
            let value = String(decoding: CurlTransfer.trimmed(line[(colon + 1)...]), as: UTF8.self)
            pendingHeaders.append(HTTPHeader(name: name, value: value))
        }
        return false
    }

    /// Resumes a reader waiting for the head. Called by the loop after the `curl_multi_perform`
    /// in which the head completed, so the head and the body bytes that came with it reach the
    /// reader in one wake-up.
    func deliverHead() {
        lock.lock()
        guard let head, let waiter = headWaiter else {
            lock.unlock()
            return
        }
        headWaiter = nil
        lock.unlock()
        waiter.resume(returning: head)
    }

    private static let statusPrefix = Array("HTTP/".utf8)

    /// `bytes` without leading and trailing spaces, tabs, CR and LF.
    static func trimmed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// Called by the loop once the transfer ended (its handle already back in the loop's hands).
    func complete(_ outcome: Result<Void, any Error>) {
        lock.lock()
        var outcome = outcome
        if cancelled { outcome = .failure(CancellationError()) }
        result = outcome
        let head = headWaiter
        let body = bodyWaiter
        headWaiter = nil
        bodyWaiter = nil
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
    }
}
