/// Latencies in microseconds with bounded memory: exact below 1,024 µs, then 64 buckets per power
/// of two (under 1.6 % error), up to about 2^40 µs. Record per task, `merge` at the end.
///
/// ```swift
/// var histogram = LatencyHistogram()
/// histogram.record(micros: 137)
/// let p99 = histogram.percentile(99)   // µs
/// ```
public struct LatencyHistogram: Sendable {
    private static let exactLimit: Int64 = 1024
    private static let subBuckets = 64
    private static let exactBits = 10  // log2(exactLimit)
    private static let bucketCount = Int(exactLimit) + subBuckets * 31

    private var counts: [UInt64]
    public private(set) var count: Int = 0
    public private(set) var sum: Double = 0
    public private(set) var minimum: Int64 = .max
    public private(set) var maximum: Int64 = 0
    /// Samples below zero (clock steps), recorded as 0.
    public private(set) var negatives = 0

    public init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    public mutating func record(micros value: Int64) {
        var value = value
        if value < 0 {
            negatives += 1
            value = 0
        }
        counts[Self.index(of: value)] += 1
        count += 1
        sum += Double(value)
        minimum = Swift.min(minimum, value)
        maximum = Swift.max(maximum, value)
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        sum += other.sum
        negatives += other.negatives
        if other.count > 0 {
            minimum = Swift.min(minimum, other.minimum)
            maximum = Swift.max(maximum, other.maximum)
        }
    }

    /// The value below which `percent` % of the samples fall (bucket midpoint), nil when empty.
    public func percentile(_ percent: Double) -> Double? {
        guard count > 0 else { return nil }
        if percent >= 100 { return Double(maximum) }
        let rank = UInt64((percent / 100 * Double(count)).rounded(.up))
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= Swift.max(rank, 1) { return Swift.min(Self.midpoint(of: index), Double(maximum)) }
        }
        return Double(maximum)
    }

    public var mean: Double? { count > 0 ? sum / Double(count) : nil }

    static func index(of value: Int64) -> Int {
        if value < exactLimit { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // >= exactBits
        let shift = exponent - 6
        let sub = Int((value >> Int64(shift)) & Int64(subBuckets - 1))
        let index = Int(exactLimit) + (exponent - exactBits) * subBuckets + sub
        return Swift.min(index, bucketCount - 1)
    }

    static func midpoint(of index: Int) -> Double {
        if index < Int(exactLimit) { return Double(index) }
        let exponent = (index - Int(exactLimit)) / subBuckets + exactBits
        let sub = (index - Int(exactLimit)) % subBuckets
        let shift = exponent - 6
        let low = Double((Int64(subBuckets) | Int64(sub)) << Int64(shift))
        return low + Double(Int64(1) << Int64(shift)) / 2
    }

    /// p50/p90/p99/p99.9/max/mean in milliseconds, for the JSON report.
    public var summaryMilliseconds: JSONValue {
        func ms(_ value: Double?) -> JSONValue { .optional(value.map { $0 / 1000 }) }
        return [
            "count": .int(count),
            "p50_ms": ms(percentile(50)),
            "p90_ms": ms(percentile(90)),
            "p99_ms": ms(percentile(99)),
            "p999_ms": ms(percentile(99.9)),
            "max_ms": ms(count > 0 ? Double(maximum) : nil),
            "mean_ms": ms(mean),
            "negative_samples": .int(negatives),
        ]
    }
}

/// Wall-clock microseconds since the Unix epoch: the clock `AnalyzeEvent.timestampMicros` uses, so
/// a client on the same machine can compute how long an event took to arrive.
public func unixMicrosNow() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
