public import NIOCore

/// The 8 bytes each side sends first: the ASCII magic `CHORUS` and a big-endian protocol version.
///
/// The client sends its preface immediately after connecting; the server answers with its own
/// before any frame. A peer that sends anything else gets a GOAWAY explaining why (or, when it
/// looks like an HTTP client, a plain-text HTTP 400) and the connection is closed.
public enum ConnectionPreface {
    public static let magic: [UInt8] = Array("CHORUS".utf8)
    /// The protocol version this implementation speaks.
    public static let version: UInt16 = 1
    public static let length = 8

    public static func write(into buffer: inout ByteBuffer, version: UInt16 = ConnectionPreface.version) {
        buffer.writeBytes(magic)
        buffer.writeInteger(version, endianness: .big)
    }

    public static var bytes: ByteBuffer {
        var buffer = ByteBuffer()
        write(into: &buffer)
        return buffer
    }

    /// True when `prefix` (the first bytes a peer sent) looks like an HTTP request line.
    public static func looksLikeHTTP(_ prefix: some Collection<UInt8>) -> Bool {
        let methods = ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "PRI "]
        let head = String(decoding: prefix.prefix(4), as: UTF8.self)
        return methods.contains(head)
    }
}
