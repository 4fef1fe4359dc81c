import Foundation

extension CurlTransfer {
    /// Called from the header callback with one raw header line (bytes as curl hands them).
    /// Returns true when the line completed the final (non-1xx) head.
    ///
    /// Parsed on bytes: Foundation's `trimmingCharacters` here cost more than the rest of the
    /// head handling on the first-token path.
    func receiveHeaderLine(_ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        let line = CurlTransfer.trimmed(raw[...])
        if line.starts(with: CurlTransfer.statusPrefix) {
            // A new status line (after a 100 Continue or a redirect) starts a new header block.
            // "HTTP/1.1 200 OK": the status is the second space-separated field.
            var status = 0
            if let space = line.firstIndex(of: UInt8(ascii: " ")) {
                for byte in line[(space + 1)...] {
                    guard byte >= 48, byte <= 57 else { break }
                    status = status * 10 + Int(byte - 48)
                }
            }
            pendingStatus = status
            pendingHeaders = []
            return false
        }
        if line.isEmpty {
            // End of a header block; 1xx blocks are interim.
            guard pendingStatus >= 200 else { return false }
            lock.lock()
            defer { lock.unlock() }
            guard head == nil else { return false }
            // Handed to the reader by `deliverHead()` once the current `curl_multi_perform` returns,
            // not here: the first body bytes usually arrive in the same read, and a reader woken
            // now would find no body yet and need a second wake-up (a thread hop each) for them.
            head = HTTPResponseHead(status: pendingStatus, headers: pendingHeaders)
            return true
        }
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = String(decoding: line[..<colon].map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }, as: UTF8.self)
            let value = String(decoding: CurlTransfer.trimmed(line[(colon + 1)...]), as: UTF8.self)
            pendingHeaders.append(HTTPHeader(name: name, value: value))
        }
        return false
    }

    /// Resumes a reader waiting for the head. Called by the loop after the `curl_multi_perform`
    /// in which the head completed, so the head and the body bytes that came with it reach the
    /// reader in one wake-up.
    func deliverHead() {
        lock.lock()
        guard let head, let waiter = headWaiter else {
            lock.unlock()
            return
        }
        headWaiter = nil
        lock.unlock()
        waiter.resume(returning: head)
    }

    private static let statusPrefix = Array("HTTP/".utf8)

    /// `bytes` without leading and trailing spaces, tabs, CR and LF.
    static func trimmed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 || byte == 10 }
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }
}
