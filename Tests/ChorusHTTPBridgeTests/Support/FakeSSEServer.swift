import NIOCore
import NIOPosix

/// A one-connection HTTP server that answers with a chunked `text/event-stream` made of the given
/// pieces, one HTTP chunk each, 50 ms apart — to show what a naive client does with a split event.
enum FakeSSEServer {
    static func serve<Result: Sendable>(pieces: [String], _ body: @Sendable (Int) async throws -> Result) async throws -> Result {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let port = server.channel.localAddress?.port ?? 0
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        try await connection.executeThenClose { requestParts, writer in
                            var head: [UInt8] = []
                            for try await part in requestParts {
                                head += part.readableBytesView
                                if String(decoding: head, as: UTF8.self).contains("\r\n\r\n") { break }
                            }
                            try await writer.write(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"))
                            for piece in pieces {
                                try await writer.write(ByteBuffer(string: String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n"))
                                try await Task.sleep(for: .milliseconds(50))
                            }
                            try await writer.write(ByteBuffer(string: "0\r\n\r\n"))
                        }
                        break
                    }
                }
                return nil
            }
            let result = try await body(port)
            group.cancelAll()
            return result
        }
    }
}
