#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// A server running in its own process: the bench binary re-executed with a `serve-*` subcommand.
///
/// The child binds 127.0.0.1 port 0, prints `LISTENING <port> [<port>…]` on stdout and serves until its
/// stdin closes (so a crashed parent never leaves servers behind) or it gets SIGTERM.
///
/// ```swift
/// let server = try ServerProcess.launch(subcommand: "serve-chorus")
/// defer { server.stop() }
/// let cpu = ProcStats.cpuSeconds(pid: server.pid)
/// ```
public final class ServerProcess: @unchecked Sendable {
    public let name: String
    public let pid: Int32
    /// The first announced port.
    public var port: Int { ports[0] }
    /// Every announced port, in the child's order (e.g. RPC then HTTP).
    public let ports: [Int]
    private let process: Process
    private let stdinPipe: Pipe

    private init(name: String, process: Process, stdinPipe: Pipe, ports: [Int]) {
        self.name = name
        self.process = process
        self.stdinPipe = stdinPipe
        self.pid = process.processIdentifier
        self.ports = ports
    }

    /// The path of the running executable, for re-executing it.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts `currentExecutable subcommand arguments…` and waits (up to `timeout` seconds) for its port.
    ///
    /// - Parameter cpu: run the child on this CPU only (through `taskset`, so every thread it ever
    ///   starts is pinned), for "on one core" figures.
    public static func launch(subcommand: String, arguments: [String] = [], cpu: Int? = nil, timeout: Double = 60) throws -> ServerProcess {
        let process = Process()
        if let cpu {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", "\(cpu)", currentExecutable, subcommand] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: currentExecutable)
            process.arguments = [subcommand] + arguments
        }
        let stdinPipe = Pipe()
        let stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle.standardError
        try process.run()

        // Read the first line on a plain thread: it blocks, so keep it off the concurrency pool.
        let line = LineBox()
        let reader = Thread {
            var data = Data()
            let handle = stdoutPipe.fileHandleForReading
            while !data.contains(UInt8(ascii: "\n")) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            line.set(String(decoding: data, as: UTF8.self))
        }
        reader.start()
        guard let text = line.wait(timeout: timeout) else {
            process.terminate()
            throw BenchError("\(subcommand): no LISTENING line within \(Int(timeout)) s")
        }
        let fields = text.split(whereSeparator: \.isWhitespace)
        let ports = fields.dropFirst().compactMap { Int($0) }
        guard fields.count >= 2, fields[0] == "LISTENING", ports.count == fields.count - 1 else {
            process.terminate()
            process.waitUntilExit()
            throw BenchError("\(subcommand): expected 'LISTENING <port>', got '\(text.trimmingCharacters(in: .whitespacesAndNewlines))' (exit \(process.isRunning ? "-" : "\(process.terminationStatus)"))")
        }
        return ServerProcess(name: subcommand, process: process, stdinPipe: stdinPipe, ports: ports)
    }

    public var isRunning: Bool { process.isRunning }

    /// Closes the child's stdin, sends SIGTERM and waits for it to exit.
    public func stop() {
        guard process.isRunning else { return }
        try? stdinPipe.fileHandleForWriting.close()
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    // MARK: The child side

    /// Called by a `serve-*` subcommand once bound: announces the port and arranges to exit when
    /// the parent goes away (stdin reaches EOF).
    public static func announceAndWatchParent(port: Int, _ more: Int...) {
        FileHandle.standardOutput.write(Data("LISTENING \(([port] + more).map(String.init).joined(separator: " "))\n".utf8))
        let watcher = Thread {
            var byte: UInt8 = 0
            while read(STDIN_FILENO, &byte, 1) > 0 {}
            exit(0)
        }
        watcher.name = "parent-watch"
        watcher.start()
    }
}

private final class LineBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: String?

    func set(_ value: String) {
        condition.lock()
        self.value = value
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: Double) -> String? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while value == nil {
            if !condition.wait(until: deadline) { break }
        }
        return value
    }
}

/// A benchmark setup or correctness failure.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
