public import NIOCore

/// Splits the byte stream of a Chorus connection into a preface and frames.
///
/// It checks a frame's announced length against ``maxPayloadLength`` as soon as the 10-byte
/// header is readable, before waiting for (or allocating) the body, and it never consumes a
/// partial header or body, so it works for any split of the input.
///
/// ```swift
/// try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadLength: 4 << 20)))
/// ```
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public enum Output: Sendable, Hashable {
        /// The peer's preface and the protocol version it announced (always supported when delivered).
        case preface(version: UInt16)
        case frame(Frame)
    }

    public typealias InboundOut = Output

    public let maxPayloadLength: Int
    private var expectingPreface: Bool

    /// - Parameters:
    ///   - maxPayloadLength: the largest payload accepted; longer frames fail with ``WireError/Kind/frameTooLarge``.
    ///   - expectPreface: whether the stream starts with a ``ConnectionPreface``.
    public init(maxPayloadLength: Int = Frame.defaultMaxPayloadLength, expectPreface: Bool = true) {
        self.maxPayloadLength = maxPayloadLength
        self.expectingPreface = expectPreface
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> Output? {
        if expectingPreface {
            return try decodePreface(buffer: &buffer)
        }
        guard buffer.readableBytes >= Frame.headerSize else { return nil }
        let start = buffer.readerIndex
        let length = buffer.getInteger(at: start, endianness: .big, as: UInt32.self)!
        let type = buffer.getInteger(at: start + 4, as: UInt8.self)!
        let flags = buffer.getInteger(at: start + 5, as: UInt8.self)!
        let rawStreamID = buffer.getInteger(at: start + 6, endianness: .big, as: UInt32.self)!
        guard length <= maxPayloadLength else {
            throw WireError(
                .frameTooLarge,
                "frame of \(length) bytes exceeds the maximum frame payload of \(maxPayloadLength) bytes"
            )
        }
        guard rawStreamID & 0x8000_0000 == 0 else {
            throw WireError(.reservedBitSet, "reserved high bit set in stream id 0x\(String(rawStreamID, radix: 16))")
        }
        guard buffer.readableBytes >= Frame.headerSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        let payload = buffer.readSlice(length: Int(length))!
        return .frame(
            Frame(type: FrameType(rawValue: type), flags: FrameFlags(rawValue: flags), streamID: rawStreamID, payload: payload)
        )
    }

    /// How many more bytes `buffer` needs before ``decode(buffer:)`` can return its next output
    /// (0 when it already can). Lets a caller complete a frame that straddles two reads by moving
    /// only the missing bytes instead of appending the whole second read.
    public func bytesMissing(in buffer: ByteBuffer) -> Int {
        if expectingPreface { return max(0, ConnectionPreface.length - buffer.readableBytes) }
        guard buffer.readableBytes >= Frame.headerSize else { return Frame.headerSize - buffer.readableBytes }
        let length = Int(buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self)!)
        return max(0, Frame.headerSize + length - buffer.readableBytes)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Output? {
        if let output = try decode(buffer: &buffer) { return output }
        if buffer.readableBytes > 0 && seenEOF {
            let count = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: count)
            throw WireError(.truncatedFrame, "connection closed in the middle of a frame (\(count) bytes left over)")
        }
        return nil
    }

    private mutating func decodePreface(buffer: inout ByteBuffer) throws -> Output? {
        let available = min(buffer.readableBytes, ConnectionPreface.length)
        guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: available) else { return nil }
        // Fail on the first wrong byte instead of waiting for all 8: a wrong peer may send fewer.
        let magic = ConnectionPreface.magic
        for (index, byte) in prefix.prefix(magic.count).enumerated() where byte != magic[index] {
            throw WireError(.badPreface, FrameDecoder.badPrefaceMessage(prefix), receivedBytes: prefix)
        }
        guard available == ConnectionPreface.length else { return nil }
        buffer.moveReaderIndex(forwardBy: ConnectionPreface.length)
        let version = UInt16(prefix[6]) << 8 | UInt16(prefix[7])
        guard version == ConnectionPreface.version else {
            throw WireError(
                .unsupportedVersion,
                "unsupported protocol version \(version); this peer speaks chorus protocol version \(ConnectionPreface.version)"
            )
        }
        expectingPreface = false
        return .preface(version: version)
    }

    static func badPrefaceMessage(_ prefix: [UInt8]) -> String {
        let hex = prefix.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined(separator: " ")
        let printable = String(prefix.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." })
        return "bad connection preface: expected \"CHORUS\" and version \(ConnectionPreface.version) "
            + "(43 48 4f 52 55 53 00 01), got \(hex) (\"\(printable)\"); the peer is not a Chorus RPC endpoint"
    }
}
