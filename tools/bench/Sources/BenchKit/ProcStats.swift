#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// Readers for `/proc` and `getrusage`: CPU time and memory of this process and of child servers.
public enum ProcStats {
    /// User + system CPU seconds consumed so far by process `pid` (from `/proc/PID/stat`, 1/100 s resolution).
    public static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "comm)" start at field 3 (state); utime is field 14, stime field 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// User + system CPU seconds consumed so far by this process (all threads).
    public static func selfCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// I/O counters of `pid` from `/proc/PID/io` (all threads): read-type and write-type syscalls
    /// (`read`, `recvmsg`, ... / `write`, `writev`, `sendmsg`, ...) and bytes through them.
    public struct IOCounters: Sendable {
        public var readSyscalls: Int
        public var writeSyscalls: Int
        public var readBytes: Int
        public var writtenBytes: Int
    }

    /// `/proc/PID/io`; pass nil for this process. Nil where the kernel does not provide it.
    public static func io(pid: Int32?) -> IOCounters? {
        let path = pid.map { "/proc/\($0)/io" } ?? "/proc/self/io"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var fields: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let value = Int(parts[1].trimmingCharacters(in: .whitespaces)) { fields[String(parts[0])] = value }
        }
        guard let syscr = fields["syscr"], let syscw = fields["syscw"] else { return nil }
        return IOCounters(readSyscalls: syscr, writeSyscalls: syscw, readBytes: fields["rchar"] ?? 0, writtenBytes: fields["wchar"] ?? 0)
    }

    /// Current resident set size of `pid` in bytes (`VmRSS`).
    public static func rssBytes(pid: Int32) -> Int? { statusField("VmRSS", pid: pid) }

    /// Peak resident set size of `pid` in bytes since start or the last ``resetPeakRSS(pid:)`` (`VmHWM`).
    public static func peakRSSBytes(pid: Int32) -> Int? { statusField("VmHWM", pid: pid) }

    /// Resets `VmHWM` of `pid` to its current RSS (writes 5 to `/proc/PID/clear_refs`). False if not permitted.
    @discardableResult
    public static func resetPeakRSS(pid: Int32) -> Bool {
        let fd = open("/proc/\(pid)/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    private static func statusField(_ name: String, pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kib = Int(parts[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }
}

/// Samples a process's RSS at a fixed interval on its own thread until stopped.
public final class RSSSampler: @unchecked Sendable {
    public struct Sample: Sendable, Codable {
        /// Seconds since the sampler started.
        public var t: Double
        public var rssBytes: Int
        public var phase: String
    }

    private let pid: Int32
    private let interval: Double
    private let lock = NSLock()
    private var samples: [Sample] = []
    private var phase = "start"
    private var stopped = false
    private var thread: Thread?
    private let started = Date()

    public init(pid: Int32, interval: Double = 0.1) {
        self.pid = pid
        self.interval = interval
    }

    public func start() {
        let thread = Thread { [self] in
            while true {
                lock.lock()
                let done = stopped
                let phase = self.phase
                lock.unlock()
                if done { return }
                if let rss = ProcStats.rssBytes(pid: pid) {
                    let sample = Sample(t: Date().timeIntervalSince(started), rssBytes: rss, phase: phase)
                    lock.lock()
                    samples.append(sample)
                    lock.unlock()
                }
                Thread.sleep(forTimeInterval: interval)
            }
        }
        thread.name = "rss-sampler"
        self.thread = thread
        thread.start()
    }

    /// Labels the samples taken from now on.
    public func mark(_ phase: String) {
        lock.lock()
        self.phase = phase
        lock.unlock()
    }

    /// Stops sampling and returns every sample taken.
    public func stop() -> [Sample] {
        lock.lock()
        stopped = true
        let result = samples
        lock.unlock()
        return result
    }
}
