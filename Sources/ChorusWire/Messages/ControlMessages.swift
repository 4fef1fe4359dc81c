public import ChorusCore
internal import CChorusProtobufC
internal import CChorusWireProto
public import NIOCore

/// Payload of a CALL_START frame.
public struct CallStartMessage: WireMessage, Hashable {
    public var method: String
    public var metadata: [MetadataEntry]
    /// Relative deadline; 0 means none.
    public var timeoutMicros: UInt64
    /// Flow-control window granted for the stream; 0 means the default.
    public var initialWindow: UInt32
    /// The encoded request message.
    public var request: ByteBuffer

    public init(method: String, metadata: [MetadataEntry] = [], timeoutMicros: UInt64 = 0, initialWindow: UInt32 = 0, request: ByteBuffer) {
        self.method = method
        self.metadata = metadata
        self.timeoutMicros = timeoutMicros
        self.initialWindow = initialWindow
        self.request = request
    }

    public func encode(into buffer: inout ByteBuffer) {
        let arena = CArena()
        var message = Chorus__V1__CallStart()
        chorus__v1__call_start__init(&message)
        message.method = arena.string(method)
        message.n_metadata = metadata.count
        message.metadata = arena.boxes(metadata.map { $0.cMessage(arena) })
        message.timeout_micros = timeoutMicros
        message.initial_window = initialWindow
        message.request = arena.binary(request)
        buffer.writeProtobufC(&message)
        withExtendedLifetime(arena) {}
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "CallStart", unpack: chorus__v1__call_start__unpack, free: chorus__v1__call_start__free_unpacked) { m in
            let request = m.pointee.request
            var requestBuffer = ByteBuffer()
            if request.len > 0, let data = request.data {
                requestBuffer.writeBytes(UnsafeRawBufferPointer(start: data, count: request.len))
            }
            return CallStartMessage(
                method: swiftString(m.pointee.method),
                metadata: MetadataEntry.decode(m.pointee.n_metadata, m.pointee.metadata),
                timeoutMicros: m.pointee.timeout_micros,
                initialWindow: m.pointee.initial_window,
                request: requestBuffer
            )
        }
    }
}

/// Payload of a CALL_END frame: the call's final status.
public struct CallEndMessage: WireMessage, Hashable {
    public var code: ChorusError.Code
    public var message: String
    public var trailingMetadata: [MetadataEntry]

    public init(code: ChorusError.Code, message: String = "", trailingMetadata: [MetadataEntry] = []) {
        self.code = code
        self.message = message
        self.trailingMetadata = trailingMetadata
    }

    public init(_ error: ChorusError) {
        self.init(code: error.code, message: error.message, trailingMetadata: error.retryAfter.map {
            [MetadataEntry(key: "retry-after-ms", value: String($0.microseconds / 1000))]
        } ?? [])
    }

    /// Trailing-metadata key a server sets when it refused a call without processing any of it,
    /// so a client may retry it transparently on another connection.
    public static let unprocessedKey = "chorus-unprocessed"

    /// True when the server says it did not process the call at all.
    public var isUnprocessed: Bool { trailingMetadata.contains { $0.key == CallEndMessage.unprocessedKey } }

    /// The status as an error, or nil for OK.
    public var error: ChorusError? {
        guard code != .ok else { return nil }
        let retryAfter = trailingMetadata.first(where: { $0.key == "retry-after-ms" }).flatMap { Int64($0.value) }
        return ChorusError(code, message, retryAfter: retryAfter.map { .milliseconds($0) })
    }

    public func encode(into buffer: inout ByteBuffer) {
        let arena = CArena()
        var m = Chorus__V1__CallEnd()
        chorus__v1__call_end__init(&m)
        m.code = code.rawValue
        m.message = arena.string(message)
        m.n_trailing_metadata = trailingMetadata.count
        m.trailing_metadata = arena.boxes(trailingMetadata.map { $0.cMessage(arena) })
        buffer.writeProtobufC(&m)
        withExtendedLifetime(arena) {}
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "CallEnd", unpack: chorus__v1__call_end__unpack, free: chorus__v1__call_end__free_unpacked) { m in
            CallEndMessage(
                code: ChorusError.Code(rawValue: m.pointee.code),
                message: swiftString(m.pointee.message),
                trailingMetadata: MetadataEntry.decode(m.pointee.n_trailing_metadata, m.pointee.trailing_metadata)
            )
        }
    }
}

/// Payload of a CANCEL frame.
public struct CancelMessage: WireMessage, Hashable {
    public var reason: String

    public init(reason: String = "") { self.reason = reason }

    public func encode(into buffer: inout ByteBuffer) {
        let arena = CArena()
        var m = Chorus__V1__Cancel()
        chorus__v1__cancel__init(&m)
        m.reason = arena.string(reason)
        buffer.writeProtobufC(&m)
        withExtendedLifetime(arena) {}
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "Cancel", unpack: chorus__v1__cancel__unpack, free: chorus__v1__cancel__free_unpacked) {
            CancelMessage(reason: swiftString($0.pointee.reason))
        }
    }
}

/// Payload of a WINDOW_UPDATE frame.
public struct WindowUpdateMessage: WireMessage, Hashable {
    public var increment: UInt32

    public init(increment: UInt32) { self.increment = increment }

    public func encode(into buffer: inout ByteBuffer) {
        var m = Chorus__V1__WindowUpdate()
        chorus__v1__window_update__init(&m)
        m.increment = increment
        buffer.writeProtobufC(&m)
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "WindowUpdate", unpack: chorus__v1__window_update__unpack, free: chorus__v1__window_update__free_unpacked) {
            WindowUpdateMessage(increment: $0.pointee.increment)
        }
    }
}

/// Payload of a PING frame (and of its ACK).
public struct PingMessage: WireMessage, Hashable {
    public var opaque: UInt64

    public init(opaque: UInt64) { self.opaque = opaque }

    public func encode(into buffer: inout ByteBuffer) {
        var m = Chorus__V1__Ping()
        chorus__v1__ping__init(&m)
        m.opaque = opaque
        buffer.writeProtobufC(&m)
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "Ping", unpack: chorus__v1__ping__unpack, free: chorus__v1__ping__free_unpacked) {
            PingMessage(opaque: $0.pointee.opaque)
        }
    }
}

/// Payload of a GOAWAY frame.
public struct GoAwayMessage: WireMessage, Hashable {
    public var lastStreamID: UInt32
    /// OK for a graceful drain; another code for a connection error.
    public var code: ChorusError.Code
    public var message: String

    public init(lastStreamID: UInt32, code: ChorusError.Code = .ok, message: String = "") {
        self.lastStreamID = lastStreamID
        self.code = code
        self.message = message
    }

    public func encode(into buffer: inout ByteBuffer) {
        let arena = CArena()
        var m = Chorus__V1__GoAway()
        chorus__v1__go_away__init(&m)
        m.last_stream_id = lastStreamID
        m.code = code.rawValue
        m.message = arena.string(message)
        buffer.writeProtobufC(&m)
        withExtendedLifetime(arena) {}
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "GoAway", unpack: chorus__v1__go_away__unpack, free: chorus__v1__go_away__free_unpacked) {
            GoAwayMessage(lastStreamID: $0.pointee.last_stream_id, code: ChorusError.Code(rawValue: $0.pointee.code), message: swiftString($0.pointee.message))
        }
    }
}

extension MetadataEntry {
    func cMessage(_ arena: CArena) -> Chorus__V1__MetadataEntry {
        var entry = Chorus__V1__MetadataEntry()
        chorus__v1__metadata_entry__init(&entry)
        entry.key = arena.string(key)
        entry.value = arena.string(value)
        return entry
    }

    static func decode(_ count: Int, _ entries: UnsafeMutablePointer<UnsafeMutablePointer<Chorus__V1__MetadataEntry>?>?) -> [MetadataEntry] {
        guard let entries, count > 0 else { return [] }
        return (0..<count).compactMap { index in
            guard let entry = entries[index] else { return nil }
            return MetadataEntry(key: swiftString(entry.pointee.key), value: swiftString(entry.pointee.value))
        }
    }
}

/// Payload of a SETTINGS frame: limits the sender announces to its peer.
public struct SettingsMessage: WireMessage, Hashable {
    /// Most concurrent calls the sender runs on this connection; 0 = not announced.
    public var maxConcurrentCalls: UInt32
    /// Largest frame payload the sender accepts; 0 = not announced.
    public var maxFramePayload: UInt32

    public init(maxConcurrentCalls: UInt32 = 0, maxFramePayload: UInt32 = 0) {
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxFramePayload = maxFramePayload
    }

    public func encode(into buffer: inout ByteBuffer) {
        var m = Chorus__V1__Settings()
        chorus__v1__settings__init(&m)
        m.max_concurrent_calls = maxConcurrentCalls
        m.max_frame_payload = maxFramePayload
        buffer.writeProtobufC(&m)
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "Settings", unpack: chorus__v1__settings__unpack, free: chorus__v1__settings__free_unpacked) {
            SettingsMessage(maxConcurrentCalls: $0.pointee.max_concurrent_calls, maxFramePayload: $0.pointee.max_frame_payload)
        }
    }
}
