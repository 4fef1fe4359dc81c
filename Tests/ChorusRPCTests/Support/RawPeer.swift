import ChorusWire
import NIOCore
import NIOPosix
import Synchronization

/// A bare TCP peer for protocol tests: sends arbitrary bytes and reads back raw bytes or frames,
/// so tests can misbehave in ways the real client never would.
final class RawPeer: Sendable {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private let inbound: Mutex<NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator?>
    private let received = Mutex(ByteBuffer())

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        self.inbound = Mutex(nil)
    }

    static func connect(port: Int) async throws -> RawPeer {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawPeer(channel: channel)
    }

    func send(_ buffer: ByteBuffer) async throws {
        try await channel.outbound.write(buffer)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await send(ByteBuffer(bytes: bytes))
    }

    func sendPreface() async throws {
        try await send(ConnectionPreface.bytes)
    }

    func sendFrame(_ type: FrameType, streamID: UInt32, flags: FrameFlags = [], _ message: some WireMessage) async throws {
        var buffer = ByteBuffer()
        buffer.writeFrame(type: type, flags: flags, streamID: streamID) { message.encode(into: &$0) }
        try await send(buffer)
    }

    /// Half-closes our side (EOF to the server).
    func shutdownOutput() async throws {
        channel.outbound.finish()
        try await channel.channel.close(mode: .output)
    }

    /// Reads until the server closes the connection; returns everything received.
    func readToEnd() async throws -> ByteBuffer {
        var all = ByteBuffer()
        try await channel.executeThenClose { inbound, _ in
            for try await var chunk in inbound { all.writeBuffer(&chunk) }
        }
        return all
    }

    /// Reads until the server closes and decodes what arrived as a preface plus frames.
    func readFramesToEnd() async throws -> [Frame] {
        var bytes = try await readToEnd()
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        while let output = try decoder.decode(buffer: &bytes) {
            if case .frame(let frame) = output { frames.append(frame) }
        }
        return frames
    }

    /// Reads frames until one matches `predicate` (or the connection ends).
    func readFrames(until predicate: (Frame) -> Bool) async throws -> [Frame] {
        var decoder = FrameDecoder()
        var frames: [Frame] = []
        var buffer = ByteBuffer()
        var iterator = channel.inbound.makeAsyncIterator()
        while var chunk = try await iterator.next() {
            buffer.writeBuffer(&chunk)
            while let output = try decoder.decode(buffer: &buffer) {
                if case .frame(let frame) = output {
                    frames.append(frame)
                    if predicate(frame) { return frames }
                }
            }
        }
        return frames
    }

    func close() {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }
}
