import ChorusCommandLine
import Synchronization

/// A ``TextOutput`` that keeps every write, in order, as a separate chunk.
final class RecordingOutput: TextOutput {
    private let chunks = Mutex<[String]>([])

    func write(bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        chunks.withLock { $0.append(text) }
    }

    /// Every write, one element per call.
    var writes: [String] { chunks.withLock { $0 } }

    /// Everything written, concatenated.
    var text: String { writes.joined() }

    /// Everything written, split into lines (the text after the last newline is dropped if empty).
    var lines: [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// Removes the ANSI sequences the terminal renderer emits (CSI sequences such as `ESC[2K`, `ESC[3A`,
/// `ESC[?25l`, `ESC[31m`).
func strippingANSI(_ text: String) -> String {
    text.replacing(/\u{1B}\[[0-9;?]*[A-Za-z]/, with: "")
}

/// A clock for renderers whose time only moves when the test says so.
final class ManualClock: Sendable {
    private let now = Mutex<Duration>(.zero)

    func advance(by duration: Duration) {
        now.withLock { $0 += duration }
    }

    var elapsed: @Sendable () -> Duration {
        { self.now.withLock { $0 } }
    }
}
