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

    /// Called from the header callback with one raw header line.
    func receiveHeaderLine(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        condition.lock()
        if trimmed.hasPrefix("HTTP/") {
            // A new status line (after a 100 Continue or a redirect) starts a new header block.
            pendingStatus = Int(trimmed.split(separator: " ").dropFirst().first ?? "") ?? 0
            pendingHeaders = []
            condition.unlock()
            return
        }
        if trimmed.isEmpty {
            // End of a header block; 1xx blocks are interim.
            guard pendingStatus >= 200, head == nil else {
                condition.unlock()
                return
            }
            let newHead = HTTPResponseHead(status: pendingStatus, headers: pendingHeaders)
            head = newHead
            let waiter = headWaiter
            headWaiter = nil
            condition.unlock()
            waiter?.resume(returning: newHead)
            return
        }
        if let colon = trimmed.firstIndex(of: ":") {
            let name = trimmed[..<colon].lowercased()
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            pendingHeaders.append(HTTPHeader(name: name, value: value))
        }
        condition.unlock()
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
