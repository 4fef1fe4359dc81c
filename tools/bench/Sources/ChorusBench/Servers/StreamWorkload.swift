#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BenchKit

/// One streaming call's parameters, carried in the Chorus query (`count=N size=S`) and in the
/// gRPC `StreamRequest{count, payload_size}`.
struct StreamWorkload: Sendable, Equatable {
    /// Number of text events.
    var count: Int
    /// 0: the shared 16–64 byte mix (``TextWorkload``); otherwise every text has exactly this many bytes.
    var payloadSize: Int = 0

    var query: String { "count=\(count) size=\(payloadSize)" }

    init(count: Int, payloadSize: Int = 0) {
        self.count = count
        self.payloadSize = payloadSize
    }

    init?(query: String) {
        var count: Int?
        var size = 0
        for field in query.split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[1]), value >= 0 else { return nil }
            switch parts[0] {
            case "count": count = value
            case "size": size = value
            default: return nil
            }
        }
        guard let count else { return nil }
        self.count = count
        self.payloadSize = size
    }

    /// The texts of this workload: `texts.text(at: i)` for event i.
    var texts: Texts { Texts(payloadSize: payloadSize) }

    struct Texts: Sendable {
        let fixed: String?
        let fixedLength: Int

        init(payloadSize: Int) {
            fixed = payloadSize > 0 ? TextWorkload.fixedText(size: payloadSize) : nil
            fixedLength = payloadSize
        }

        @inline(__always) func text(at index: Int) -> String { fixed ?? TextWorkload.text(at: index) }
        @inline(__always) func length(at index: Int) -> Int { fixed == nil ? TextWorkload.length(at: index) : fixedLength }
        func payloadBytes(count: Int) -> Int { fixed == nil ? TextWorkload.payloadBytes(count: count) : count * fixedLength }
    }
}
