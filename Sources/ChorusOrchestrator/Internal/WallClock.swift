#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Unix wall-clock time for event timestamps.
///
/// The standard library only has monotonic clocks, and the orchestrator deliberately avoids Foundation,
/// so this reads `CLOCK_REALTIME` from the C library directly.
enum WallClock {
    /// Microseconds since 1970-01-01T00:00:00Z.
    static func nowMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }
}
