internal import CChorusCurl
import Foundation

/// One thread driving one curl multi handle for every transfer of a ``CurlHTTPClient``.
///
/// This is libcurl's multi interface used as intended: the thread sleeps in `curl_multi_poll`
/// on all the client's sockets at once and runs whichever transfers are ready, so a hundred
/// concurrent upstream streams cost one thread and one `poll` per wake-up instead of a hundred
/// threads each waking on its own (the 100-caller gateway benchmark spent ~40 % of the server's
/// CPU in per-transfer threads, mostly scheduling). The multi handle's connection cache keeps
/// finished transfers' connections for the next request to the same origin, and HTTP/2
/// connections carry concurrent transfers as streams.
///
/// Other threads never touch a curl handle: they queue a command (start, resume, cancel) and wake
/// the poll with `curl_multi_wakeup`, the one multi call that is thread-safe. Nothing on the loop
/// blocks except curl itself, and a file body (`HTTPRequestSpec.bodyFile`) is read with `fread`
/// here as it is sent, which is a local disk read.
///
/// Lifetime: the client's ``CurlHTTPClient/Engine`` calls ``shutdown()`` when the last copy of the
/// client goes away; the thread then finishes the transfers still running (their readers hold
/// them), frees every handle and exits.
final class CurlMultiLoop: @unchecked Sendable {
    private enum Command {
        case start(CurlTransfer)
        case resume(CurlTransfer)
        case cancel(CurlTransfer)
    }

    private enum State {
        case idle, running, stopping, exited
    }

    // Guarded by `lock`.
    private let lock = NSLock()
    private var commands: [Command] = []
    private var state = State.idle

    // Loop thread only (and `init` / `shutdown` before the thread started).
    private let multi: UnsafeMutableRawPointer?
    /// Running transfers by easy handle; each entry keeps its transfer (and the memory its options
    /// point at) alive until the transfer ended.
    var running: [UnsafeMutableRawPointer: RunningTransfer] = [:]
    /// Reset easy handles ready for the next transfer (saves `curl_easy_init` per request).
    var spareHandles: [UnsafeMutableRawPointer] = []
    /// Transfers whose final response head completed during the current `curl_multi_perform`.
    var completedHeads: [CurlTransfer] = []

    let share: CurlShare
    /// Idle connections kept for reuse at most; 0 closes every connection after its transfer.
    let maxIdleConnections: Int
    static let maxSpareHandles = 64

    init(share: CurlShare, maxIdleConnections: Int) {
        self.share = share
        self.maxIdleConnections = max(0, maxIdleConnections)
        let multi = curl_multi_init()
        if let multi, maxIdleConnections > 0 {
            // The connection cache: finished transfers' connections kept open for reuse.
            CChorusCurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxIdleConnections)
        }
        self.multi = multi
    }

    // MARK: Commands (any thread)

    /// Queues `transfer`; its reader learns the outcome through the transfer.
    func start(_ transfer: CurlTransfer) {
        if !send(.start(transfer)) {
            transfer.complete(.failure(CurlError(code: 2, message: "the HTTP client was shut down")))
        }
    }

    /// Continues a transfer its write callback paused (the reader made room).
    func resume(_ transfer: CurlTransfer) { send(.resume(transfer)) }

    /// Removes a running transfer at once.
    func cancel(_ transfer: CurlTransfer) { send(.cancel(transfer)) }

    /// Lets the thread exit once the running transfers ended (called when the client is dropped).
    func shutdown() {
        lock.lock()
        switch state {
        case .idle:
            // No thread ever ran: nothing can reach the multi handle any more.
            state = .exited
            lock.unlock()
            if let multi { curl_multi_cleanup(multi) }
        case .running:
            state = .stopping
            if let multi { curl_multi_wakeup(multi) }
            lock.unlock()
        case .stopping, .exited:
            lock.unlock()
        }
    }

    /// Queues `command` and wakes the poll; false once the loop has exited.
    @discardableResult
    private func send(_ command: Command) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let multi else { return false }
        switch state {
        case .exited:
            return false
        case .idle:
            state = .running
            let thread = Thread { [self] in run() }
            thread.name = "chorus-curl"
            thread.start()
        case .running, .stopping:
            break
        }
        commands.append(command)
        // Under the lock: the thread marks itself exited under it before freeing the handle.
        curl_multi_wakeup(multi)
        return true
    }

    // MARK: The loop thread

    private func run() {
        guard let multi else { return }
        var batch: [Command] = []
        var stillRunning: Int32 = 0
        while true {
            lock.lock()
            swap(&batch, &commands)
            if state == .stopping, batch.isEmpty, running.isEmpty {
                state = .exited
                lock.unlock()
                break
            }
            lock.unlock()
            for command in batch { execute(command, multi: multi) }
            batch.removeAll(keepingCapacity: true)

            let performed = curl_multi_perform(multi, &stillRunning)
            for transfer in completedHeads { transfer.deliverHead() }
            completedHeads.removeAll(keepingCapacity: true)
            if performed != CURLM_OK {
                failAll(CurlError(code: 2, message: "curl_multi_perform: " + String(cString: curl_multi_strerror(performed))), multi: multi)
            }
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                finish(easy, code: message.pointee.data.result, multi: multi)
            }
            // Sleeps until a socket is ready, curl's next timer, a command's wakeup, or the cap.
            _ = curl_multi_poll(multi, nil, 0, running.isEmpty ? 10_000 : 1_000, nil)
        }
        for easy in spareHandles { curl_easy_cleanup(easy) }
        spareHandles.removeAll()
        curl_multi_cleanup(multi)
    }

    private func execute(_ command: Command, multi: UnsafeMutableRawPointer) {
        switch command {
        case .start(let transfer):
            begin(transfer, multi: multi)
        case .resume(let transfer):
            if let easy = transfer.easy { _ = CChorusCurl_unpause(easy) }
        case .cancel(let transfer):
            if let easy = transfer.easy { finish(easy, code: CURLE_ABORTED_BY_CALLBACK, multi: multi) }
        }
    }

    private func begin(_ transfer: CurlTransfer, multi: UnsafeMutableRawPointer) {
        guard !transfer.isCancelled else {
            transfer.complete(.failure(CancellationError()))
            return
        }
        guard let easy = spareHandles.popLast() ?? curl_easy_init() else {
            transfer.complete(.failure(CurlError(code: 27, message: "curl_easy_init failed")))
            return
        }
        var entry = RunningTransfer(transfer: transfer, easy: easy)
        let configured = configure(&entry)
        guard configured == CURLE_OK else {
            release(entry)
            transfer.complete(.failure(CurlError(code: Int(configured.rawValue), message: String(cString: curl_easy_strerror(configured)))))
            return
        }
        guard curl_multi_add_handle(multi, easy) == CURLM_OK else {
            release(entry)
            transfer.complete(.failure(CurlError(code: 2, message: "curl_multi_add_handle failed")))
            return
        }
        transfer.easy = easy
        running[easy] = entry
    }

    /// Takes the handle out of the multi handle and back into the spares, then reports the outcome:
    /// whoever sees a transfer end finds its connection already back in the cache.
    private func finish(_ easy: UnsafeMutableRawPointer, code: CURLcode, multi: UnsafeMutableRawPointer) {
        guard let entry = running.removeValue(forKey: easy) else { return }
        curl_multi_remove_handle(multi, easy)
        entry.transfer.easy = nil
        release(entry)
        if code == CURLE_OK {
            entry.transfer.complete(.success(()))
        } else {
            entry.transfer.complete(.failure(CurlError(code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code)))))
        }
    }

    private func failAll(_ error: CurlError, multi: UnsafeMutableRawPointer) {
        for easy in Array(running.keys) {
            guard let entry = running.removeValue(forKey: easy) else { continue }
            curl_multi_remove_handle(multi, easy)
            entry.transfer.easy = nil
            release(entry)
            entry.transfer.complete(.failure(error))
        }
    }

    /// Resets the handle (every option dropped, so it points at none of the transfer's memory any
    /// more), frees that memory, and keeps the handle as a spare.
    private func release(_ entry: RunningTransfer) {
        curl_easy_reset(entry.easy)
        curl_slist_free_all(entry.headers)
        if let file = entry.file { fclose(file) }
        if spareHandles.count < CurlMultiLoop.maxSpareHandles {
            spareHandles.append(entry.easy)
        } else {
            curl_easy_cleanup(entry.easy)
        }
    }

    /// Called from the header callback when a transfer's final head is complete.
    func headCompleted(_ transfer: CurlTransfer) { completedHeads.append(transfer) }
}
