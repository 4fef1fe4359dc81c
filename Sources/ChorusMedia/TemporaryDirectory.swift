import ChorusCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A private (mode 0700) directory created with `mkdtemp(3)`, for files only this process should see.
struct TemporaryDirectory: Sendable {
    let path: String

    /// Creates `<parent or NSTemporaryDirectory()>/<prefix>-XXXXXX`.
    init(prefix: String, in parent: String? = nil) throws(ChorusError) {
        var base = parent ?? NSTemporaryDirectory()
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        var template = Array((base + "/" + prefix + "-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard created else {
            throw ChorusError(.internal, "cannot create a temporary directory: \(POSIXErrorCode.current)")
        }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String {
        path + "/" + name
    }

    /// Deletes the directory and everything in it; errors are ignored because this runs on cleanup paths.
    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
