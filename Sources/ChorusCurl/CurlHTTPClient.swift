internal import CChorusCurl
import Foundation

/// Streaming HTTP over libcurl for the provider adapters.
///
/// Each transfer runs its blocking curl loop (`curl_multi_perform` / `curl_multi_poll` on the
/// handle's own multi handle) on a thread of its own, never on Swift's cooperative pool. The body
/// arrives as an `AsyncSequence` of byte chunks; cancelling the reading task aborts the transfer
/// within milliseconds (`curl_multi_wakeup` interrupts the poll), a slow reader pauses the
/// transfer (the write callback waits while the bounded buffer is full). TLS verification is on,
/// HTTP/2 is negotiated when the upstream offers it, and curl honours the standard proxy
/// environment variables (`https_proxy`, `no_proxy`, …).
///
/// Connections are reused: a client (and every copy of it, copies share one pool) keeps the easy
/// handle of a finished transfer together with its live connection, and the next request to the
/// same origin (scheme, host, port) continues on that connection instead of a new TCP and TLS
/// handshake. Concurrent requests each get a connection of their own. DNS answers and TLS session
/// IDs are shared by all transfers of the client. Separate clients never share connections.
///
/// ```swift
/// let client = CurlHTTPClient()
/// let response = try await client.execute(HTTPRequestSpec(method: "POST", url: url, headers: headers, body: body))
/// for try await chunk in response.body { parser.feed(chunk) }
/// ```
public struct CurlHTTPClient: Sendable {
    /// Bytes buffered per transfer before the transfer is paused.
    public var bufferCapacity: Int

    /// The idle-connection pool of this client and its copies (and the curl share behind it).
    let share: CurlShare

    /// Idle connections kept for reuse at most (the least recently used one is closed beyond).
    public var maxIdleConnections: Int { share.maxIdleHandles }

    /// - Parameters:
    ///   - bufferCapacity: bytes buffered per transfer before the transfer is paused.
    ///   - maxIdleConnections: idle connections kept for reuse at most; 0 turns reuse off. The
    ///     default covers a busy gateway's concurrent calls to a few upstreams: with 16, 100
    ///     concurrent calls to one API closed and reopened most connections on every call.
    public init(bufferCapacity: Int = 256 * 1024, maxIdleConnections: Int = 128) {
        self.bufferCapacity = bufferCapacity
        CurlHTTPClient.globalInit
        self.share = CurlShare(maxIdleHandles: maxIdleConnections)
    }

    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// Starts the transfer and returns once the response head arrived (or the transfer failed).
    public func execute(_ request: HTTPRequestSpec) async throws -> HTTPStreamingResponse {
        let transfer = CurlTransfer(request: request, capacity: bufferCapacity)
        // The thread holds the share until its handle is checked back in, so the share (and the
        // pool) outlives every easy handle attached to it even if the client is dropped meanwhile.
        let share = self.share
        CurlWorkerPool.shared.run { CurlHTTPClient.perform(transfer, share: share) }
        let head = try await transfer.awaitHead()
        return HTTPStreamingResponse(head: head, body: HTTPResponseBody(transfer: transfer))
    }

    // MARK: The curl thread

    private static func perform(_ transfer: CurlTransfer, share: CurlShare) {
        let origin = share.origin(of: transfer.request.url)
        guard let pooled = share.checkout(origin: origin) else {
            transfer.complete(.failure(CurlError(code: 2, message: "curl_easy_init failed")))
            return
        }
        let result: CURLcode
        do {
            var headerList: UnsafeMutablePointer<curl_slist>?
            defer {
                // Reset and pooled (or cleaned up) first, so no option points at the list anymore.
                // This happens before the outcome is reported: whoever sees a transfer finish finds
                // its handle, with the connection, already back in the pool.
                share.checkin(pooled, origin: origin)
                curl_slist_free_all(headerList)
            }
            result = run(transfer, on: pooled, share: share, headerList: &headerList)
        }
        // `transfer` stays alive: the thread's closure holds it until perform returns.
        if result == CURLE_OK {
            transfer.complete(.success(()))
        } else {
            let message = String(cString: curl_easy_strerror(result))
            transfer.complete(.failure(CurlError(code: Int(result.rawValue), message: message)))
        }
    }

    /// Configures a freshly created or freshly reset handle for `transfer` and runs it.
    private static func run(
        _ transfer: CurlTransfer, on pooled: CurlShare.PooledHandle, share: CurlShare,
        headerList: inout UnsafeMutablePointer<curl_slist>?
    ) -> CURLcode {
        let handle = pooled.easy
        let request = transfer.request
        let user = Unmanaged.passUnretained(transfer).toOpaque()
        CChorusCurl_setopt_string(handle, CURLOPT_URL, request.url)
        CChorusCurl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        CChorusCurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        CChorusCurl_setopt_long(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
        share.attach(handle)
        // An idle handle keeps at most one connection, so the pool size bounds idle connections.
        CChorusCurl_setopt_long(handle, CURLOPT_MAXCONNECTS, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
        CChorusCurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout.components.seconds * 1000 + request.connectTimeout.components.attoseconds / 1_000_000_000_000_000))
        if let total = request.totalTimeout {
            CChorusCurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(total.components.seconds * 1000 + total.components.attoseconds / 1_000_000_000_000_000))
        }
        for header in request.headers {
            headerList = curl_slist_append(headerList, "\(header.name): \(header.value)")
        }
        if let headerList { CChorusCurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList) }
        // A file body is read by curl's default read callback (fread on READDATA) while it sends.
        var file: UnsafeMutablePointer<FILE>?
        defer { if let file { fclose(file) } }
        if let path = request.bodyFile {
            var status = stat()
            guard let opened = fopen(path, "rb"), fstat(fileno(opened), &status) == 0 else {
                return CURLE_READ_ERROR
            }
            file = opened
            CChorusCurl_setopt_long(handle, CURLOPT_POST, 1)
            CChorusCurl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(status.st_size))
            CChorusCurl_setopt_pointer(handle, CURLOPT_READDATA, UnsafeMutableRawPointer(opened))
        }
        var body = request.body ?? []
        return body.withUnsafeMutableBufferPointer { bodyPointer in
            if request.body != nil && request.bodyFile == nil {
                CChorusCurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, bodyPointer.count)
                CChorusCurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(bodyPointer.baseAddress))
            }
            CChorusCurl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, user in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
                let length = size * count
                let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: length)
                return transfer.receive(bytes) ? length : 0
            }
            CChorusCurl_setopt_pointer(handle, CURLOPT_WRITEDATA, user)
            CChorusCurl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, user in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
                let length = size * count
                let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: length)
                transfer.receiveHeaderLine(bytes)
                return length
            }
            CChorusCurl_setopt_pointer(handle, CURLOPT_HEADERDATA, user)
            // The progress callback runs at least once a second and on every read: it is how a
            // cancelled reader aborts a transfer that is waiting on a silent upstream.
            CChorusCurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
            CChorusCurl_setopt_xferinfo_callback(handle) { user, _, _, _, _ in
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
                return transfer.isCancelled ? 1 : 0
            }
            CChorusCurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, user)
            return perform(handle, in: pooled.multi, transfer: transfer)
        }
    }
}

extension CurlHTTPClient {
    /// `curl_easy_perform`, spelled out with the handle's multi handle so that ``CurlTransfer/cancel()``
    /// can wake a transfer that waits on a silent upstream (`curl_multi_wakeup` is thread-safe);
    /// curl's progress callback alone would notice only about once a second.
    fileprivate static func perform(
        _ easy: UnsafeMutableRawPointer, in multi: UnsafeMutableRawPointer, transfer: CurlTransfer
    ) -> CURLcode {
        guard curl_multi_add_handle(multi, easy) == CURLM_OK else { return CURLE_FAILED_INIT }
        transfer.attach(multi: multi)
        defer {
            transfer.detachMulti()
            curl_multi_remove_handle(multi, easy)
        }
        var running: Int32 = 1
        while true {
            guard curl_multi_perform(multi, &running) == CURLM_OK else { return CURLE_FAILED_INIT }
            transfer.deliverHead()
            if running == 0 { break }
            if transfer.isCancelled { return CURLE_ABORTED_BY_CALLBACK }
            // Sleeps until the socket is ready, curl's next timeout, a wakeup, or 1 s.
            guard curl_multi_poll(multi, nil, 0, 1000, nil) == CURLM_OK else { return CURLE_FAILED_INIT }
        }
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            if message.pointee.msg == CURLMSG_DONE && message.pointee.easy_handle == easy {
                return message.pointee.data.result
            }
        }
        return CURLE_OK
    }
}

/// A response whose body is still arriving.
public struct HTTPStreamingResponse: Sendable {
    public var head: HTTPResponseHead
    public var body: HTTPResponseBody

    /// Reads the whole body (for error responses and small JSON answers), up to `limit` bytes.
    public func collectBody(limit: Int = 1 << 20) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in body {
            bytes.append(contentsOf: chunk.prefix(max(0, limit - bytes.count)))
            if bytes.count >= limit { break }
        }
        return bytes
    }
}

/// The body of a response as byte chunks. Dropping the iterator early aborts the transfer.
public struct HTTPResponseBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    public typealias Failure = any Error

    let transfer: CurlTransfer

    public final class AsyncIterator: AsyncIteratorProtocol {
        let transfer: CurlTransfer
        private var done = false

        init(transfer: CurlTransfer) { self.transfer = transfer }

        deinit {
            if !done { transfer.cancel() }
        }

        public func next() async throws -> [UInt8]? {
            do {
                let chunk = try await transfer.nextChunk()
                if chunk == nil { done = true }
                return chunk
            } catch {
                done = true
                throw error
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(transfer: transfer) }
}
