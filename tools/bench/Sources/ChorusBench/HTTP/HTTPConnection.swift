import BenchKit
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTP/1.1 client connection for the HTTP scenarios (SSE bridge, direct upstream).
///
/// Requests run one after another; each response body is handed to the caller part by part as
/// NIO reads it, so a caller can time the first token. Used only inside ``with(port:_:)``, which
/// closes the connection on every path.
///
/// ```swift
/// try await HTTPConnection.with(port: port) { connection in
///     let head = try await connection.request(.POST, "/api/analyze/stream/parallel", json: body) { chunk in ... }
/// }
/// ```
final class HTTPConnection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    let port: Int

    private init(inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>, outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>, port: Int) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.port = port
    }

    static func with<Result: Sendable>(port: Int, _ body: (HTTPConnection) async throws -> Result) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(HTTPConnection(inbound: inbound, outbound: outbound, port: port))
        }
    }

    /// Sends one request and reads its whole response, passing each body part to `onBody`.
    @discardableResult
    func request(
        _ method: HTTPMethod,
        _ uri: String,
        json: String? = nil,
        headers extra: [(String, String)] = [],
        onBody: (ByteBuffer) throws -> Void
    ) async throws -> HTTPResponseHead {
        var headers = HTTPHeaders([("Host", "127.0.0.1:\(port)")] + extra)
        var parts: [HTTPClientRequestPart] = []
        if let json {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(json.utf8.count)")
            parts = [.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)), .body(.byteBuffer(ByteBuffer(string: json))), .end(nil)]
        } else {
            parts = [.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)), .end(nil)]
        }
        try await outbound.write(contentsOf: parts)
        var head: HTTPResponseHead?
        while let part = try await inbound.next() {
            switch part {
            case .head(let responseHead): head = responseHead
            case .body(let buffer): try onBody(buffer)
            case .end:
                guard let head else { throw BenchError("HTTP response ended without a head") }
                return head
            }
        }
        throw BenchError("HTTP connection closed in the middle of a response to \(method) \(uri)")
    }
}

extension ByteBuffer {
    /// Whether the readable bytes contain `needle` (a byte search, no String conversion).
    func contains(_ needle: [UInt8]) -> Bool {
        withUnsafeReadableBytes { findBytes(needle, in: $0) != nil }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
