public import NIOCore

/// A value with a protobuf encoding defined in `proto/chorus/v1/*.proto`, encoded and decoded
/// through protobuf-c. No C pointer ever leaves this module: conversions copy into Swift values.
public protocol WireMessage: Sendable {
    /// Appends the protobuf encoding to `buffer`.
    func encode(into buffer: inout ByteBuffer)

    /// Decodes a payload; throws ``WireError`` (`.malformedPayload`) on bytes that are not this message.
    init(decoding buffer: ByteBuffer) throws
}

extension WireMessage {
    /// The protobuf encoding in a fresh buffer.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return buffer
    }
}

/// One metadata entry (`authorization: Bearer …`).
public struct MetadataEntry: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// Fully qualified method names.
public enum ChorusMethod {
    public static let analyze = "/chorus.v1.Chorus/Analyze"
    public static let listModels = "/chorus.v1.Chorus/ListModels"
    public static let health = "/chorus.v1.Chorus/Health"

    public static let all = [analyze, listModels, health]
}
