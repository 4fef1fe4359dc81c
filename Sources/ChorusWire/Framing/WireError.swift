public import ChorusCore

/// A violation of the wire protocol by the peer. Each one ends the connection with a GOAWAY
/// whose code and message come from ``chorusError``.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible, ChorusErrorConvertible {
    public enum Kind: Sendable, Hashable {
        /// The first 8 bytes were not `CHORUS` + version.
        case badPreface
        /// The magic matched but the version is not one this side speaks.
        case unsupportedVersion
        /// A frame header announced more payload than the configured maximum.
        case frameTooLarge
        /// The reserved top bit of the stream id was set.
        case reservedBitSet
        /// The connection ended in the middle of a frame.
        case truncatedFrame
        /// A frame of a type (below 0x80) this side does not know.
        case unknownFrameType
        /// A payload that does not decode as the message its frame type requires.
        case malformedPayload
        /// A frame that is not allowed in the current state (e.g. CALL_START on stream 0).
        case protocolViolation
    }

    public var kind: Kind
    public var message: String
    /// For ``Kind/badPreface``: the first bytes the peer sent (lets a server answer an HTTP client in HTTP).
    public var receivedBytes: [UInt8]

    public init(_ kind: Kind, _ message: String, receivedBytes: [UInt8] = []) {
        self.kind = kind
        self.message = message
        self.receivedBytes = receivedBytes
    }

    public var description: String { message }

    public var chorusError: ChorusError {
        switch kind {
        case .frameTooLarge: return ChorusError(.resourceExhausted, message)
        case .unsupportedVersion: return ChorusError(.unimplemented, message)
        case .badPreface, .reservedBitSet, .truncatedFrame, .unknownFrameType, .protocolViolation:
            return ChorusError(.invalidArgument, message)
        case .malformedPayload: return ChorusError(.internal, message)
        }
    }
}
