import NIOCore
import NIOPosix
import Synchronization

/// A loopback HTTP/1.1 server that answers every connection with a script, so curl tests can
/// control exact bytes and timing (chunks, delays, stalls) and observe the client hanging up.
///
/// With `keepAlive` a connection serves request after request (the scripts must then frame their
/// responses with Content-Length or chunked encoding), so tests can count reused connections.
final class ScriptedHTTPServer: Sendable {
    enum Step: Sendable {
        case write(String)
        case sleep(Duration)
        /// Waits for the client to hang up, then ends the connection.
        case stall
        /// Waits until the server has received at least this many requests (over all connections).
        case awaitRequests(Int)
        /// Writes `blocks` blocks of `blockSize` bytes, block `i` filled with `UInt8(i % 256)`, each
        /// write waiting for the socket to take it (so ``bytesWritten`` shows how far the client read).
        case writeBlocks(blocks: Int, blockSize: Int)
    }

    let port: Int
    private let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    let requests = Mutex<[String]>([])
    let closedConnections = Mutex(0)
    /// TCP connections accepted so far.
    let acceptedConnections = Mutex(0)
    /// Body bytes handed to the socket by `.writeBlocks` steps so far.
    let bytesWritten = Mutex(0)

    private init(port: Int, channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) {
        self.port = port
        self.channel = channel
    }

    static func withServer<T: Sendable>(_ script: [Step], _ body: @Sendable (ScriptedHTTPServer) async throws -> T) async throws -> T {
        try await withServer(keepAlive: false, responder: { _ in script }, body)
    }

    /// `responder` gets the index of the request (0 for the first the server received, over all
    /// connections) and returns the script that answers it.
    static func withServer<T: Sendable>(
        keepAlive: Bool,
        responder: @escaping @Sendable (Int) -> [Step],
        _ body: @Sendable (ScriptedHTTPServer) async throws -> T
    ) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child) }
            }
        let server = ScriptedHTTPServer(port: channel.channel.localAddress!.port!, channel: channel)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { connections in
                        for try await connection in inbound {
                            connections.addTask { await server.serve(connection, keepAlive: keepAlive, responder: responder) }
                        }
                    }
                }
                return nil
            }
            let result = try await body(server)
            group.cancelAll()
            return result
        }
    }

    private func serve(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, keepAlive: Bool, responder: @Sendable (Int) -> [Step]
    ) async {
        acceptedConnections.withLock { $0 += 1 }
        try? await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var bytes: [UInt8] = []
            func headerEnd() -> Int? {
                guard bytes.count >= 4 else { return nil }
                for index in 0...(bytes.count - 4) where bytes[index..<index + 4].elementsEqual([13, 10, 13, 10]) {
                    return index + 4
                }
                return nil
            }
            repeat {
                var end = headerEnd()
                while end == nil {
                    // The client hung up (between requests, or before sending one).
                    guard let chunk = try await iterator.next() else { return }
                    bytes += Array(chunk.readableBytesView)
                    end = headerEnd()
                }
                // Read a declared body too, so tests can see what was posted.
                let head = String(decoding: bytes[..<end!], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingPrefix(" ")) } ?? 0
                while bytes.count - end! < length {
                    guard let chunk = try await iterator.next() else { return }
                    bytes += Array(chunk.readableBytesView)
                }
                let request = String(decoding: bytes[..<(end! + length)], as: UTF8.self)
                bytes.removeFirst(end! + length)
                let index = requests.withLock { requests in
                    requests.append(request)
                    return requests.count - 1
                }
                for step in responder(index) {
                    switch step {
                    case .write(let text): try await outbound.write(ByteBuffer(string: text))
                    case .sleep(let duration): try await Task.sleep(for: duration)
                    case .writeBlocks(let blocks, let blockSize):
                        for block in 0..<blocks {
                            try await outbound.write(ByteBuffer(repeating: UInt8(block % 256), count: blockSize))
                            bytesWritten.withLock { $0 += blockSize }
                        }
                    case .awaitRequests(let count):
                        while requests.withLock({ $0.count }) < count { try await Task.sleep(for: .milliseconds(2)) }
                    case .stall:
                        // Wait for the client to hang up (EOF) — that is what cancellation tests observe.
                        while try await iterator.next() != nil {}
                        closedConnections.withLock { $0 += 1 }
                        return
                    }
                }
            } while keepAlive
        }
    }
}

/// An HTTP/1.1 chunk.
func chunk(_ text: String) -> String {
    String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n"
}
