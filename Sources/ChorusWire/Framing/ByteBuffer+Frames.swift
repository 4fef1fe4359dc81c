public import NIOCore

extension ByteBuffer {
    /// Writes a frame header and a payload produced in place by `writePayload`, then backfills the
    /// length. Writing the payload straight into the outbound buffer avoids a copy per frame.
    ///
    /// - Returns: the total number of bytes written (header + payload).
    @discardableResult
    @inlinable
    public mutating func writeFrame(
        type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        payload writePayload: (inout ByteBuffer) throws -> Void
    ) rethrows -> Int {
        let start = writerIndex
        writeInteger(UInt32(0), endianness: .big)
        writeInteger(type.rawValue)
        writeInteger(flags.rawValue)
        writeInteger(streamID, endianness: .big)
        try writePayload(&self)
        let payloadLength = writerIndex - start - Frame.headerSize
        setInteger(UInt32(payloadLength), at: start, endianness: .big)
        return writerIndex - start
    }

    /// Writes `frame` (header + payload).
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        var payload = frame.payload
        return writeFrame(type: frame.type, flags: frame.flags, streamID: frame.streamID) { $0.writeBuffer(&payload) }
    }
}
