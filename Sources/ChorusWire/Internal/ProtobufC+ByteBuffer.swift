internal import CChorusProtobufC
import NIOCore

extension ByteBuffer {
    /// Packs a protobuf-c message straight into this buffer's writable bytes (no intermediate copy).
    mutating func writeProtobufC(_ message: UnsafePointer<ProtobufCMessage>) {
        let size = protobuf_c_message_get_packed_size(message)
        guard size > 0 else { return }
        writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            protobuf_c_message_pack(message, raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Packs a protobuf-c message struct held in a Swift variable.
    mutating func writeProtobufC<Message>(_ message: inout Message) {
        withUnsafeMutablePointer(to: &message) { pointer in
            pointer.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { base in
                writeProtobufC(UnsafePointer(base))
            }
        }
    }
}

/// Unpacks `buffer` with a generated `*__unpack` function, hands the message to `body`, and frees
/// it with the matching `*__free_unpacked` on every path (success, thrown error).
///
/// The unpacked structs and strings go into a scratch area on the stack (a bump allocator, see
/// `chorus_scratch` in the C shim): a text event used to cost four mallocs and four frees.
/// Larger messages spill to malloc, and only then is `free_unpacked` needed to release them.
func withUnpacked<Message, Result>(
    _ buffer: ByteBuffer,
    as name: String,
    unpack: (UnsafeMutablePointer<ProtobufCAllocator>?, Int, UnsafePointer<UInt8>?) -> UnsafeMutablePointer<Message>?,
    free: (UnsafeMutablePointer<Message>?, UnsafeMutablePointer<ProtobufCAllocator>?) -> Void,
    _ body: (UnsafePointer<Message>) throws -> Result
) throws -> Result {
    try buffer.withUnsafeReadableBytes { raw in
        try withUnsafeTemporaryAllocation(byteCount: unpackScratchBytes, alignment: 16) { scratchMemory in
            var scratch = chorus_scratch(
                base: scratchMemory.baseAddress!.assumingMemoryBound(to: UInt8.self),
                capacity: scratchMemory.count,
                used: 0,
                fallbacks: 0
            )
            return try withUnsafeMutablePointer(to: &scratch) { scratchPointer in
                var allocator = chorus_scratch_allocator(scratchPointer)
                return try withUnsafeMutablePointer(to: &allocator) { allocatorPointer in
                    // An empty payload is a valid (all-default) message; give protobuf-c a non-null pointer anyway.
                    var empty: UInt8 = 0
                    let message: UnsafeMutablePointer<Message>? = withUnsafePointer(to: &empty) { emptyPointer in
                        let base = raw.count > 0 ? raw.baseAddress!.assumingMemoryBound(to: UInt8.self) : emptyPointer
                        return unpack(allocatorPointer, raw.count, base)
                    }
                    guard let message else {
                        // protobuf-c frees what it allocated before failing, through the same allocator.
                        throw WireError(.malformedPayload, "malformed \(name) payload (\(raw.count) bytes could not be decoded)")
                    }
                    defer {
                        // Only spilled allocations need releasing; scratch memory goes with the stack frame.
                        if scratchPointer.pointee.fallbacks > 0 { free(message, allocatorPointer) }
                    }
                    return try body(UnsafePointer(message))
                }
            }
        }
    }
}

/// Stack scratch for one unpack: a text event needs ~250 bytes; call starts with metadata more.
private let unpackScratchBytes = 1024

/// A Swift string from a protobuf-c `char *` (which is never NULL for set fields, but be safe).
func swiftString(_ pointer: UnsafePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(cString: pointer)
}

/// Swift strings from a protobuf-c repeated string field.
func swiftStrings(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    guard let pointer, count > 0 else { return [] }
    return (0..<count).map { swiftString(pointer[$0]) }
}

extension Bool {
    var protobufC: protobuf_c_boolean { self ? 1 : 0 }

    init(protobufC value: protobuf_c_boolean) { self = value != 0 }
}
