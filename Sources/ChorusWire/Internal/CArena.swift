internal import CChorusProtobufC
import NIOCore

/// Owns the C memory a protobuf-c message points into while it is packed.
///
/// protobuf-c messages are plain structs of `char *` and sub-message pointers. To pack one from
/// Swift values we copy each string into memory that lives until the pack is done, and free it
/// all at once when the arena goes away, on every path.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    init() {}

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    /// A NUL-terminated copy of `string`. protobuf-c strings cannot hold NUL, so embedded NULs are dropped.
    func string(_ string: String) -> UnsafeMutablePointer<CChar> {
        var utf8 = Array(string.utf8)
        if utf8.contains(0) { utf8.removeAll(where: { $0 == 0 }) }
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count + 1)
        utf8.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress {
                UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: bytes.count)
            }
        }
        pointer[utf8.count] = 0
        allocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    /// A C array of NUL-terminated strings.
    func strings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count)
        allocations.append(UnsafeMutableRawPointer(array))
        for (index, string) in strings.enumerated() {
            (array + index).initialize(to: self.string(string))
        }
        return array
    }

    /// A heap copy of `value` (for sub-message fields).
    func box<T>(_ value: T) -> UnsafeMutablePointer<T> {
        let pointer = UnsafeMutablePointer<T>.allocate(capacity: 1)
        pointer.initialize(to: value)
        allocations.append(UnsafeMutableRawPointer(pointer))
        return pointer
    }

    /// A C array of pointers to heap copies of `values` (for repeated sub-message fields).
    func boxes<T>(_ values: [T]) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>? {
        guard !values.isEmpty else { return nil }
        let array = UnsafeMutablePointer<UnsafeMutablePointer<T>?>.allocate(capacity: values.count)
        allocations.append(UnsafeMutableRawPointer(array))
        for (index, value) in values.enumerated() {
            (array + index).initialize(to: box(value))
        }
        return array
    }

    /// A copy of `bytes` for a `bytes` field.
    func binary(_ bytes: ByteBuffer) -> ProtobufCBinaryData {
        let count = bytes.readableBytes
        guard count > 0 else { return ProtobufCBinaryData(len: 0, data: nil) }
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        allocations.append(UnsafeMutableRawPointer(pointer))
        bytes.withUnsafeReadableBytes { raw in
            UnsafeMutableRawPointer(pointer).copyMemory(from: raw.baseAddress!, byteCount: count)
        }
        return ProtobufCBinaryData(len: count, data: pointer)
    }
}
