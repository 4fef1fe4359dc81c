internal import CChorusCurl
import Foundation

/// One thread driving one curl multi handle for every transfer of a ``CurlHTTPClient``.
///
/// This is libcurl's multi socket interface, the one built for many transfers: curl tells the
/// loop which sockets to watch and when its next timer is due, the thread sleeps in `epoll_wait`
/// on all of them at once and hands curl only the sockets that are ready
/// (`curl_multi_socket_action`), so a wake-up costs what its ready transfers cost, however many
/// others are open. (`curl_multi_perform` visits every transfer on every call; a thread per
/// transfer, the previous design, spent ~40 % of the server's CPU in the 100-caller gateway
/// benchmark, mostly scheduling, and would need 30,000 threads for 10,000 calls of three models.)
/// The multi handle's connection cache keeps finished transfers' connections for the next request
/// to the same origin, and HTTP/2 connections carry concurrent transfers as streams.
///
/// Other threads never touch a curl handle: they queue a command (start, resume, cancel) and wake
/// the loop through an eventfd in its epoll set. Nothing on the loop blocks except curl itself,
/// and a file body (`HTTPRequestSpec.bodyFile`) is read with `fread` here as it is sent, which is
/// a local disk read.
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
    /// The multi handle (nil if curl refused one); the socket callback marks sockets on it.
    let multi: UnsafeMutableRawPointer?
    /// The epoll set of curl's sockets and `wakeFD`; -1 if the kernel refused one.
    let epollFD: Int32
    /// Readable while commands wait; written under `lock` by `send`.
    private let wakeFD: Int32
    /// When curl wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)`, in `DispatchTime` nanoseconds.
    var timerDeadline: UInt64?
    /// Running transfers by easy handle; each entry keeps its transfer (and the memory its options
    /// point at) alive until the transfer ended.
    var running: [UnsafeMutableRawPointer: RunningTransfer] = [:]
    /// Reset easy handles ready for the next transfer (saves `curl_easy_init` per request).
    var spareHandles: [UnsafeMutableRawPointer] = []
    /// Transfers whose final response head completed during the current round.
    var completedHeads: [CurlTransfer] = []
    /// Transfers whose buffer filled up during the current round, to pause after it (pausing is
    /// not done inside curl's callback, see ``CurlTransfer/receive(_:)``).
    var filledBuffers: [CurlTransfer] = []

    let share: CurlShare
    /// Idle connections kept for reuse at most; 0 closes every connection after its transfer.
    let maxIdleConnections: Int
    static let maxSpareHandles = 64

    init(share: CurlShare, maxIdleConnections: Int) {
        self.share = share
        self.maxIdleConnections = max(0, maxIdleConnections)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = CChorusCurl_eventfd()
        var multi = curl_multi_init()
        if epollFD < 0 || wakeFD < 0 || CChorusCurl_epoll_add_reader(epollFD, wakeFD) != 0, let created = multi {
            curl_multi_cleanup(created)
            multi = nil
        }
        if let multi, maxIdleConnections > 0 {
            // The connection cache: finished transfers' connections kept open for reuse.
            CChorusCurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, maxIdleConnections)
        }
        self.multi = multi
        if let multi { installCallbacks(multi) }
    }

    deinit {
        // The thread (if one ran) has exited: it held `self`.
        if epollFD >= 0 { close(epollFD) }
        if wakeFD >= 0 { close(wakeFD) }
    }

    // MARK: Commands (any thread)

    /// Queues `transfer`; its reader learns the outcome through the transfer.
    func start(_ transfer: CurlTransfer) {
        if !send(.start(transfer)) {
            transfer.complete(.failure(CurlError(code: 2, message: "the HTTP client is shut down, or its curl loop could not be set up")))
        }
    }

    /// Continues a transfer paused for a full buffer (the reader made room).
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
            lock.unlock()
            wake()
        case .stopping, .exited:
            lock.unlock()
        }
    }

    /// Queues `command` and wakes the poll; false once the loop has exited.
    @discardableResult
    private func send(_ command: Command) -> Bool {
        guard multi != nil else { return false }
        lock.lock()
        switch state {
        case .exited:
            lock.unlock()
            return false
        case .idle:
            state = .running
            let thread = Thread { [self] in
                // Named from inside: on Linux, Foundation's `Thread.name` set before `start()` never
                // reaches the kernel, and the thread showed up in `top -H`, `perf` and /proc under
                // the name of whichever NIO thread started it.
                _ = CChorusCurl_name_thread("chorus-curl")
                run()
            }
            thread.start()
        case .running, .stopping:
            break
        }
        commands.append(command)
        lock.unlock()
        // Woken after unlocking: the loop thread, woken at once, takes the lock first thing, and
        // finding it still held cost a futex wait and wake (two more context switches) per request.
        wake()
        return true
    }

    /// Makes `epoll_wait` return (an eventfd write is one syscall and never blocks).
    private func wake() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(wakeFD, $0.baseAddress, 8) }
    }

    // MARK: The loop thread

    private func run() {
        guard let multi else { return }
        var batch: [Command] = []
        var fds = [Int32](repeating: 0, count: 128)
        var flags = [Int32](repeating: 0, count: 128)
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
            let executedCommands = !batch.isEmpty
            batch.removeAll(keepingCapacity: true)

            // Sleeps until a socket is ready, curl's timer is due, a command arrives, or the cap.
            // A new transfer sets curl's timer to "now" (that is when curl sends the request): then
            // the timer runs at once instead of after an `epoll_wait` that cannot block, one syscall
            // less between a call and its upstream request. Only right after commands, so ready
            // sockets still get looked at on the next turn even if curl keeps its timer at zero.
            let timeout = waitMilliseconds()
            let ready = executedCommands && timeout == 0 ? 0 : fds.withUnsafeMutableBufferPointer { fds in
                flags.withUnsafeMutableBufferPointer { flags in
                    CChorusCurl_epoll_wait(epollFD, fds.baseAddress, flags.baseAddress, Int32(fds.count), timeout)
                }
            }
            var code = CURLM_OK
            for index in 0..<max(0, Int(ready)) {
                if fds[index] == wakeFD {
                    var value: UInt64 = 0
                    _ = withUnsafeMutableBytes(of: &value) { read(wakeFD, $0.baseAddress, 8) }
                    continue
                }
                let result = curl_multi_socket_action(multi, fds[index], flags[index], &stillRunning)
                // BAD_SOCKET: an earlier action of this batch closed that socket; nothing to do.
                if result != CURLM_OK, result != CURLM_BAD_SOCKET { code = result }
            }
            if let deadline = timerDeadline, deadline <= DispatchTime.now().uptimeNanoseconds {
                timerDeadline = nil
                let result = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &stillRunning)
                if result != CURLM_OK { code = result }
            }
            for transfer in completedHeads { transfer.deliverHead() }
            completedHeads.removeAll(keepingCapacity: true)
            for transfer in filledBuffers where transfer.isWaitingForRoom {
                if let easy = transfer.easy { _ = CChorusCurl_pause_receiving(easy) }
            }
            filledBuffers.removeAll(keepingCapacity: true)
            if code != CURLM_OK {
                failAll(CurlError(code: 2, message: "curl_multi_socket_action: " + String(cString: curl_multi_strerror(code))), multi: multi)
            }
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                finish(easy, code: message.pointee.data.result, multi: multi)
            }
        }
        for easy in spareHandles { curl_easy_cleanup(easy) }
        spareHandles.removeAll()
        // Closes the cached connections (their sockets leave the epoll set through the callback).
        curl_multi_cleanup(multi)
    }

    /// Until curl's timer is due; 10 s at most, so a lost wake-up could never hang the loop.
    private func waitMilliseconds() -> Int32 {
        guard let deadline = timerDeadline else { return 10_000 }
        let now = DispatchTime.now().uptimeNanoseconds
        guard deadline > now else { return 0 }
        // Rounded up: waking before the deadline would only mean a second wait.
        return Int32(min(10_000, (deadline - now + 999_999) / 1_000_000))
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
        let outcome: Result<Void, any Error> = code == CURLE_OK
            ? .success(())
            : .failure(CurlError(code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code))))
        end(easy, outcome, multi: multi)
    }

    private func failAll(_ error: CurlError, multi: UnsafeMutableRawPointer) {
        for easy in Array(running.keys) { end(easy, .failure(error), multi: multi) }
    }

    private func end(_ easy: UnsafeMutableRawPointer, _ outcome: Result<Void, any Error>, multi: UnsafeMutableRawPointer) {
        guard let entry = running.removeValue(forKey: easy) else { return }
        curl_multi_remove_handle(multi, easy)
        entry.transfer.easy = nil
        release(entry)
        entry.transfer.complete(outcome)
    }

    /// Resets the handle (every option dropped, so it points at none of the transfer's memory any
    /// more), frees that memory, and keeps the handle as a spare.
    private func release(_ entry: RunningTransfer) {
        curl_easy_reset(entry.easy)
        curl_slist_free_all(entry.headers)
        // After the reset: the handle no longer points at the mime structure.
        if let mime = entry.mime { curl_mime_free(mime) }
        if let file = entry.file { fclose(file) }
        if spareHandles.count < CurlMultiLoop.maxSpareHandles {
            spareHandles.append(entry.easy)
        } else {
            curl_easy_cleanup(entry.easy)
        }
    }

    /// Called from the header callback when a transfer's final head is complete.
    func headCompleted(_ transfer: CurlTransfer) { completedHeads.append(transfer) }

    /// Called from the write callback when a transfer's buffer is full.
    func bufferFilled(_ transfer: CurlTransfer) { filledBuffers.append(transfer) }
}
