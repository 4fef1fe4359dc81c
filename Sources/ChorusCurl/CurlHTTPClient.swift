internal import CChorusCurl
import Foundation

/// Streaming HTTP over libcurl for the provider adapters.
///
/// Every transfer of a client (and of its copies) runs on one thread of its own that drives a
/// curl multi handle (``CurlMultiLoop``), never on Swift's cooperative pool: many concurrent
/// upstream streams cost one thread and one `poll` per wake-up. The body arrives as an
/// `AsyncSequence` of byte chunks; cancelling the reading task removes the transfer at once (the
/// upstream sees the connection close within milliseconds); a slow reader pauses its transfer
/// when the bounded buffer is full, so curl stops reading that socket and the upstream is pushed
/// back by TCP while the client's other transfers carry on. TLS verification is on, HTTP/2 is
/// negotiated when the upstream offers it (concurrent requests then share a connection as
/// streams), and curl honours the standard proxy environment variables (`https_proxy`,
/// `no_proxy`, …).
///
/// Connections are reused: a finished transfer's connection stays in the client's cache, and the
/// next request to the same origin continues on it instead of a new TCP and TLS handshake. DNS
/// answers and TLS session IDs are shared by all transfers of the client. Separate clients never
/// share connections (or threads); the thread starts with the first request and ends after the
/// last copy of the client is gone and its transfers finished.
///
/// ```swift
/// let client = CurlHTTPClient()
/// let response = try await client.execute(HTTPRequestSpec(method: "POST", url: url, headers: headers, body: body))
/// for try await chunk in response.body { parser.feed(chunk) }
/// ```
public struct CurlHTTPClient: Sendable {
    /// Bytes buffered per transfer before the transfer is paused.
    public var bufferCapacity: Int

    /// The loop shared by this client and its copies; shut down when the last copy goes away.
    let engine: Engine

    /// Idle connections kept for reuse at most (the least recently used one is closed beyond).
    public var maxIdleConnections: Int { engine.loop.maxIdleConnections }

    /// - Parameters:
    ///   - bufferCapacity: bytes buffered per transfer before the transfer is paused.
    ///   - maxIdleConnections: idle connections kept for reuse at most; 0 turns reuse off. The
    ///     default covers a busy gateway's concurrent calls to a few upstreams: with 16, 100
    ///     concurrent calls to one API closed and reopened most connections on every call.
    public init(bufferCapacity: Int = 256 * 1024, maxIdleConnections: Int = 128) {
        self.bufferCapacity = bufferCapacity
        CurlHTTPClient.globalInit
        self.engine = Engine(loop: CurlMultiLoop(share: CurlShare(), maxIdleConnections: maxIdleConnections))
    }

    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// Starts the transfer and returns once the response head arrived (or the transfer failed).
    public func execute(_ request: HTTPRequestSpec) async throws -> HTTPStreamingResponse {
        let transfer = CurlTransfer(request: request, capacity: bufferCapacity, loop: engine.loop)
        engine.loop.start(transfer)
        let head = try await transfer.awaitHead()
        return HTTPStreamingResponse(head: head, body: HTTPResponseBody(transfer: transfer))
    }

    /// Owns the loop for the client's copies: a transfer keeps the loop (not the client) alive, so
    /// dropping the client lets the loop finish what runs and then exit.
    final class Engine: Sendable {
        let loop: CurlMultiLoop

        init(loop: CurlMultiLoop) { self.loop = loop }

        deinit { loop.shutdown() }
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
