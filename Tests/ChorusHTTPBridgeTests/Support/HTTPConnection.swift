import ChorusCore
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The status line and header fields of a raw HTTP/1.1 response, exactly as received.
struct ResponseHead: Sendable {
    var statusLine: String
    var status: Int
    var fields: [(name: String, value: String)]

    /// The first value of a header field (names compare case-insensitively).
    func header(_ name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var isChunked: Bool { header("Transfer-Encoding")?.lowercased().contains("chunked") == true }
}

/// A whole response: the head, the body de-chunked, and each HTTP chunk as it was framed on the wire.
struct RawResponse: Sendable {
    var head: ResponseHead
    var body: [UInt8]
    /// The payload of each chunk of a chunked body, in order (empty for a Content-Length body).
    var chunks: [[UInt8]]

    var status: Int { head.status }
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { head.header(name) }
}

/// A bare TCP client speaking HTTP/1.1 by hand, so tests see the exact bytes the bridge writes
/// (status line, header fields, chunk framing) and can disconnect at any moment.
///
/// Not Sendable: one test task owns a connection. A watchdog closes it after `timeout`, so a test
/// waiting for bytes that never come fails instead of hanging the suite.
final class HTTPConnection {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffer: [UInt8] = []
    private var sawEOF = false
    private let watchdog: Scheduled<Void>
    /// Set when the watchdog closed the connection: reads then fail instead of seeing a clean end.
    private let timedOut = TimeoutFlag()
    let port: Int

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, port: Int, timeout: TimeAmount) {
        self.channel = channel
        self.port = port
        self.iterator = channel.inbound.makeAsyncIterator()
        let raw = channel.channel
        let timedOut = self.timedOut
        self.watchdog = raw.eventLoop.scheduleTask(in: timeout) {
            timedOut.withLock { $0 = true }
            raw.close(promise: nil)
        }
    }

    static func connect(port: Int, timeout: TimeAmount = .seconds(15)) async throws -> HTTPConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return HTTPConnection(channel: channel, port: port, timeout: timeout)
    }

    deinit {
        watchdog.cancel()
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }

    // MARK: Sending

    func send(_ text: String) async throws {
        try await channel.outbound.write(ByteBuffer(string: text))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.outbound.write(ByteBuffer(bytes: bytes))
    }

    /// Sends a request with `Host: 127.0.0.1:PORT` and, when there is a body, `Content-Length`.
    func sendRequest(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil, contentLength: Bool = true
    ) async throws {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body, contentLength { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try await send(Array(head.utf8) + (body ?? []))
    }

    /// `POST /api/analyze/stream/parallel` with a JSON body.
    func postAnalyze(_ json: String, target: String = "/api/analyze/stream/parallel", headers: [(String, String)] = []) async throws {
        try await sendRequest("POST", target, headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    /// Closes the connection at once (both directions), like a browser tab going away.
    func close() {
        watchdog.cancel()
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }

    /// Half-closes the connection: sends FIN but keeps reading, like `shutdown(fd, SHUT_WR)`.
    func closeOutput() async throws {
        try await channel.channel.close(mode: .output)
    }

    // MARK: Reading

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() async throws -> Bool {
        if sawEOF { return false }
        do {
            // `next(isolation:)`: this class is not Sendable, and NIO's plain `next()` runs off the
            // caller's executor, which would send the iterator there.
            if let chunk = try await iterator.next(isolation: #isolation) {
                buffer.append(contentsOf: chunk.readableBytesView)
                return true
            }
        } catch {}
        sawEOF = true
        if timedOut.withLock({ $0 }) { throw ChorusError(.deadlineExceeded, "test connection timed out waiting for the server") }
        return false
    }

    private func readLine() async throws -> String {
        while true {
            if let index = indexOfCRLF() {
                let line = String(decoding: buffer[..<index], as: UTF8.self)
                buffer.removeFirst(index + 2)
                return line
            }
            guard try await fill() else { throw ChorusError(.unavailable, "connection ended in the middle of a line: \(String(decoding: buffer, as: UTF8.self).debugDescription)") }
        }
    }

    private func indexOfCRLF() -> Int? {
        guard buffer.count >= 2 else { return nil }
        for index in 0..<(buffer.count - 1) where buffer[index] == 13 && buffer[index + 1] == 10 {
            return index
        }
        return nil
    }

    private func readExactly(_ count: Int) async throws -> [UInt8] {
        while buffer.count < count {
            guard try await fill() else { throw ChorusError(.unavailable, "connection ended after \(buffer.count) of \(count) bytes") }
        }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    func readHead() async throws -> ResponseHead {
        let statusLine = try await readLine()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw ChorusError(.internal, "not an HTTP status line: \(statusLine.debugDescription)")
        }
        var fields: [(String, String)] = []
        while true {
            let line = try await readLine()
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { throw ChorusError(.internal, "malformed header line \(line.debugDescription)") }
            fields.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return ResponseHead(statusLine: statusLine, status: status, fields: fields)
    }

    /// The next chunk of a chunked body; nil after the last (zero-size) chunk and its trailers.
    func readChunk() async throws -> [UInt8]? {
        let sizeLine = try await readLine()
        let sizeText = sizeLine.split(separator: ";").first.map(String.init) ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
            throw ChorusError(.internal, "malformed chunk size line \(sizeLine.debugDescription)")
        }
        if size == 0 {
            while try await !readLine().isEmpty {}  // trailers
            return nil
        }
        let data = try await readExactly(size)
        let end = try await readExactly(2)
        guard end == [13, 10] else { throw ChorusError(.internal, "chunk of \(size) bytes not followed by CRLF") }
        return data
    }

    /// Reads the body that follows `head` (chunked, Content-Length, or up to the end of the connection).
    func readBody(after head: ResponseHead) async throws -> RawResponse {
        if head.status == 204 || head.status == 304 || (100..<200).contains(head.status) {
            return RawResponse(head: head, body: [], chunks: [])  // no body by definition
        }
        if head.isChunked {
            var chunks: [[UInt8]] = []
            while let chunk = try await readChunk() { chunks.append(chunk) }
            return RawResponse(head: head, body: chunks.flatMap { $0 }, chunks: chunks)
        }
        if let length = head.header("Content-Length").flatMap(Int.init) {
            return RawResponse(head: head, body: try await readExactly(length), chunks: [])
        }
        while try await fill() {}
        defer { buffer = [] }
        return RawResponse(head: head, body: buffer, chunks: [])
    }

    func readResponse() async throws -> RawResponse {
        try await readBody(after: try await readHead())
    }

    /// True when the server closes the connection (bytes still buffered are discarded).
    func readUntilClosed() async throws -> Bool {
        while try await fill() { buffer = [] }
        return sawEOF
    }
}

extension HTTPConnection {
    /// Sends one request on a new connection and reads the whole response.
    static func exchange(
        port: Int, _ method: String, _ target: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> RawResponse {
        let connection = try await HTTPConnection.connect(port: port)
        defer { connection.close() }
        try await connection.sendRequest(method, target, headers: headers, body: body.map { Array($0.utf8) })
        return try await connection.readResponse()
    }

    /// POSTs an analyze request on a new connection and reads the whole response.
    static func analyze(port: Int, _ json: String, headers: [(String, String)] = [], target: String = "/api/analyze/stream/parallel") async throws -> RawResponse {
        try await exchange(port: port, "POST", target, headers: [("Content-Type", "application/json")] + headers, body: json)
    }
}

final class TimeoutFlag: Sendable {
    private let value = Mutex(false)
    func withLock<R>(_ body: (inout Bool) -> R) -> R { value.withLock { body(&$0) } }
}
