public import NIOCore

/// One frame of the Chorus wire protocol (see `proto/PROTOCOL.md`).
///
/// Every frame is a 10-byte header followed by a protobuf payload:
///
/// ```
/// +----------------+--------+--------+----------------+-----------------
/// | length (u32 BE)| type u8|flags u8|stream id (u32) | payload (length bytes)
/// +----------------+--------+--------+----------------+-----------------
/// ```
public struct Frame: Sendable, Hashable {
    public var type: FrameType
    public var flags: FrameFlags
    /// 0 for connection-level frames (PING, GOAWAY); odd, client-chosen ids for calls.
    public var streamID: UInt32
    public var payload: ByteBuffer

    public init(type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }

    /// Size of the fixed header in bytes.
    public static let headerSize = 10
    /// Default maximum payload length: 4 MiB, as in gRPC.
    public static let defaultMaxPayloadLength = 4 * 1024 * 1024
    /// Largest stream id (the top bit is reserved).
    public static let maxStreamID: UInt32 = 0x7FFF_FFFF
}

/// The frame type byte. A struct rather than an enum so unknown types survive decoding and the
/// connection can decide what to do with them (types 0x80 and above are ignorable extensions).
public struct FrameType: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Client → server: opens a stream and carries the request.
    public static let callStart = FrameType(rawValue: 0x01)
    /// Server → client: one response message.
    public static let message = FrameType(rawValue: 0x02)
    /// Server → client: the call's status; always the last frame of a stream.
    public static let callEnd = FrameType(rawValue: 0x03)
    /// Client → server: abandon the call.
    public static let cancel = FrameType(rawValue: 0x04)
    /// Client → server: more flow-control credit for a stream.
    public static let windowUpdate = FrameType(rawValue: 0x05)
    /// Either direction: liveness probe; the ACK flag marks the reply.
    public static let ping = FrameType(rawValue: 0x06)
    /// Either direction: no new calls; optionally a connection error.
    public static let goAway = FrameType(rawValue: 0x07)
    /// Stream 0: limits the sender announces (the server sends one right after its preface).
    public static let settings = FrameType(rawValue: 0x08)

    /// Types at or above this value are extensions a receiver that does not know them must skip.
    public static let firstExtensionType: UInt8 = 0x80

    public var isKnown: Bool { (0x01...0x08).contains(rawValue) }
    public var isExtension: Bool { rawValue >= FrameType.firstExtensionType }

    public var description: String {
        switch self {
        case .callStart: return "CALL_START"
        case .message: return "MESSAGE"
        case .callEnd: return "CALL_END"
        case .cancel: return "CANCEL"
        case .windowUpdate: return "WINDOW_UPDATE"
        case .ping: return "PING"
        case .goAway: return "GOAWAY"
        case .settings: return "SETTINGS"
        default: return "UNKNOWN(0x" + String(rawValue, radix: 16) + ")"
        }
    }
}

/// Frame flags.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// On PING: this frame is the reply.
    public static let ack = FrameFlags(rawValue: 0x01)
}
