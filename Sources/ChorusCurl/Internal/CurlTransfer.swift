internal import CChorusCurl
import Foundation

/// One transfer: a curl easy handle driven by its multi handle's loop on a thread of its own (so
/// the blocking calls never occupy Swift's cooperative pool), handing the body to one async reader
/// through a bounded buffer. When the buffer is full the write callback waits, which stops curl
/// reading the socket: a slow reader pauses the upstream instead of growing memory.
final class CurlTransfer: @unchecked Sendable {
    // Every field below is guarded by `condition`.
    private let condition = NSCondition()
    private var chunks: [[UInt8]] = []
    private var bufferedBytes = 0
    private var head: HTTPResponseHead?
    private var headWaiter: CheckedContinuation<HTTPResponseHead, any Error>?
    private var bodyWaiter: CheckedContinuation<[UInt8]?, any Error>?
    private var result: Result<Void, any Error>?
    private var cancelled = false
    private var pendingHeaders: [HTTPHeader] = []
    /// The multi handle running the transfer, while it runs: `cancel()` wakes it.
    private var multi: UnsafeMutableRawPointer?
    private var pendingStatus = 0

    let request: HTTPRequestSpec
    let capacity: Int

    init(request: HTTPRequestSpec, capacity: Int) {
        self.request = request
        self.capacity = capacity
    }

    // MARK: Reader side (async)

    func awaitHead() async throws -> HTTPResponseHead {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponseHead, any Error>) in
                condition.lock()
                if let head {
                    condition.unlock()
                    continuation.resume(returning: head)
                } else if case .failure(let error)? = result {
                    condition.unlock()
                    continuation.resume(throwing: error)
                } else if cancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    headWaiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    func nextChunk() async throws -> [UInt8]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                condition.lock()
                if !chunks.isEmpty {
                    let chunk = chunks.removeFirst()
                    bufferedBytes -= chunk.count
                    condition.broadcast()
                    condition.unlock()
                    continuation.resume(returning: chunk)
                } else if let result {
                    condition.unlock()
                    continuation.resume(with: result.map { nil })
                } else if cancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    bodyWaiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Aborts the transfer: the progress callback makes curl stop within one callback interval,
    /// and a write callback blocked on a full buffer wakes up.
    func cancel() {
        condition.lock()
        cancelled = true
        // Wakes curl_multi_poll at once: a transfer stalled on a silent upstream is aborted within
        // milliseconds instead of at curl's next once-a-second progress callback.
        if let multi { curl_multi_wakeup(multi) }
        let head = headWaiter
        let body = bodyWaiter
        headWaiter = nil
        bodyWaiter = nil
        condition.broadcast()
        condition.unlock()
        head?.resume(throwing: CancellationError())
        body?.resume(throwing: CancellationError())
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    // MARK: curl thread side

    /// Called by the curl thread around the transfer loop.
    func attach(multi: UnsafeMutableRawPointer) {
        condition.lock()
        self.multi = multi
        condition.unlock()
    }

    /// Called before the handles go back to the pool: no wakeup may target them afterwards.
    func detachMulti() {
        condition.lock()
        multi = nil
        condition.unlock()
    }

    /// Called from the write callback. Returns false to abort the transfer.
    func receive(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        condition.lock()
        while bufferedBytes >= capacity && !cancelled {
            // The reader cannot drain a buffer it has not started on: hand it the head first.
            if let head, let waiter = headWaiter {
                headWaiter = nil
                condition.unlock()
                waiter.resume(returning: head)
                condition.lock()
                continue
            }
            condition.wait()
        }
        if cancelled {
            condition.unlock()
            return false
        }
        let chunk = Array(bytes)
        if let waiter = bodyWaiter {
            bodyWaiter = nil
            condition.unlock()
            waiter.resume(returning: chunk)
        } else {
            chunks.append(chunk)
            bufferedBytes += chunk.count
            condition.unlock()
        }
        return true
    }

    /// Called from the header callback with one raw header line (bytes as curl hands them).
    ///
    /// Parsed on bytes: Foundation's `trimmingCharacters` here cost more than the rest of the
    /// head handling on the first-token path.
    func receiveHeaderLine(_ raw: UnsafeBufferPointer<UInt8>) {
        let line = CurlTransfer.trimmed(raw[...])
        condition.lock()
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
            condition.unlock()
            return
        }
        if line.isEmpty {
            // End of a header block; 1xx blocks are interim.
            guard pendingStatus >= 200, head == nil else {
                condition.unlock()
                return
            }
            // Handed to the reader by `deliverHead()` once the current `curl_multi_perform` returns,
            // not here: the first body bytes usually arrive in the same read, and a reader woken
            // now would find no body yet and need a second wake-up (a thread hop each) for them.
            head = HTTPResponseHead(status: pendingStatus, headers: pendingHeaders)
            condition.unlock()
            return
        }
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = String(decoding: line[..<colon].map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
            let value = String(decoding: CurlTransfer.trimmed(line[(colon + 1)...]), as: UTF8.self)
            pendingHeaders.append(HTTPHeader(name: name, value: value))
        }
        condition.unlock()
    }

    /// Resumes a reader waiting for the head once it is complete. Called by the transfer loop
    /// after every `curl_multi_perform`, so the head and the body bytes that came with it reach
    /// the reader in one wake-up.
    func deliverHead() {
        condition.lock()
        guard let head, let waiter = headWaiter else {
            condition.unlock()
            return
        }
        headWaiter = nil
        condition.unlock()
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

    /// Called once the transfer loop returned.
    func complete(_ outcome: Result<Void, any Error>) {
        condition.lock()
        var outcome = outcome
        if cancelled { outcome = .failure(CancellationError()) }
        result = outcome
        let head = headWaiter
        let body = bodyWaiter
        headWaiter = nil
        bodyWaiter = nil
        let headValue = self.head
        condition.unlock()
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
