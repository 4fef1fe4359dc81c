#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where renderers write. Injected so every renderer can be tested against an in-memory sink.
///
/// Implementations must write each call's bytes in one piece and without buffering: a renderer
/// hands over a whole line or a whole terminal frame at a time and expects it to be visible at once.
public protocol TextOutput: Sendable {
    /// Writes `text` as UTF-8.
    func write(_ text: String)
    /// Writes raw bytes (already UTF-8).
    func write(bytes: [UInt8])
}

extension TextOutput {
    public func write(_ text: String) {
        write(bytes: Array(text.utf8))
    }
}

/// A ``TextOutput`` over a file descriptor, normally standard output or standard error.
///
/// Writes go straight to `write(2)`, so there is no stdio buffer to flush and output from a
/// renderer cannot be held back behind a pipe's block buffering.
///
/// ```swift
/// FileDescriptorOutput.standardError.write("error: UNAVAILABLE: connection refused\n")
/// ```
public struct FileDescriptorOutput: TextOutput {
    /// The descriptor written to; it is not closed by this type.
    public let fileDescriptor: Int32

    public init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// File descriptor 1.
    public static let standardOutput = FileDescriptorOutput(fileDescriptor: 1)
    /// File descriptor 2.
    public static let standardError = FileDescriptorOutput(fileDescriptor: 2)

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { writeAll($0) }
    }

    public func write(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { writeAll($0) }
    }

    private func writeAll(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard var pointer = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            #if canImport(Glibc)
                let written = Glibc.write(fileDescriptor, pointer, remaining)
            #else
                let written = Darwin.write(fileDescriptor, pointer, remaining)
            #endif
            if written < 0 {
                // Interrupted by a signal (e.g. the SIGINT we handle): try again. Any other failure
                // (a closed pipe) cannot be reported anywhere useful, so the output is dropped.
                if errno == EINTR { continue }
                return
            }
            pointer += written
            remaining -= written
        }
    }
}
