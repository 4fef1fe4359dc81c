import ChorusCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one child process to completion without blocking a cooperative thread.
///
/// Output goes to temporary files rather than pipes, so a chatty child can never fill a pipe
/// buffer and deadlock against us. The exit is awaited through `terminationHandler` and a
/// continuation. Task cancellation or the timeout stops the child with SIGTERM, then SIGKILL one
/// second later if it is still alive, and throws `CancellationError` / `DEADLINE_EXCEEDED`.
///
/// ```swift
/// let output = try await Subprocess(executable: "/usr/bin/ffprobe", arguments: ["-version"],
///                                   captureStdout: true, timeout: .seconds(10)).run()
/// ```
struct Subprocess: Sendable {
    /// How the child ended (it ran to completion; stopping it turns into a thrown error instead).
    struct Output: Sendable {
        var status: Int32
        /// False when a signal that we did not send killed the child.
        var exitedNormally: Bool
        var stdout: [UInt8]
        var stderr: String

        var succeeded: Bool { exitedNormally && status == 0 }
    }

    /// The child could not be started at all (missing or non-executable file).
    struct LaunchFailure: Error {
        var underlying: any Error
    }

    var executable: String
    var arguments: [String]
    var captureStdout = false
    var timeout: Duration

    func run() async throws -> Output {
        try Task.checkCancellation()
        let stdoutFile = captureStdout ? try OutputFile() : nil
        let stderrFile = try OutputFile()
        defer {
            stdoutFile?.remove()
            stderrFile.remove()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdoutFile?.handle ?? FileHandle.nullDevice
        process.standardError = stderrFile.handle
        let exit = ExitSignal()
        process.terminationHandler = { _ in exit.signal() }
        do {
            try await Self.launchWithDefaultSignalMask(process)
        } catch {
            throw LaunchFailure(underlying: error)
        }
        // The child holds its own copies of the descriptors now.
        try? stdoutFile?.handle.close()
        try? stderrFile.handle.close()

        let stopper = Stopper(pid: process.processIdentifier, exit: exit)
        let timeout = self.timeout
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            stopper.stop(.timedOut)
        }
        await withTaskCancellationHandler {
            await exit.wait()
        } onCancel: {
            stopper.stop(.cancelled)
        }
        timer.cancel()

        switch stopper.reason {
        case .cancelled?:
            throw CancellationError()
        case .timedOut?:
            let name = executable.split(separator: "/").last.map(String.init) ?? executable
            throw ChorusError(.deadlineExceeded, "\(name) did not finish within \(timeout)")
        case nil:
            return Output(
                status: process.terminationStatus,
                exitedNormally: process.terminationReason == .exit,
                stdout: stdoutFile?.contents() ?? [],
                stderr: String(decoding: stderrFile.contents(), as: UTF8.self)
            )
        }
    }
}

extension Subprocess {
    /// Starts `process` from a fresh thread whose signal mask is empty.
    ///
    /// Foundation spawns children with the calling thread's signal mask, and Dispatch worker
    /// threads (where async code runs) block most signals, SIGTERM included: a child started from
    /// one would ignore our SIGTERM and only die to the SIGKILL a second later. A short-lived
    /// thread with the default mask gives the child the mask it would get from a shell.
    private static func launchWithDefaultSignalMask(_ process: Process) async throws {
        let unchecked = UncheckedProcess(process: process)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                var none = sigset_t()
                sigemptyset(&none)
                pthread_sigmask(SIG_SETMASK, &none, nil)
                do {
                    try unchecked.process.run()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// Hands the `Process` to the launch thread; it is used there only until `run()` returns,
    /// while the caller waits, so there is no concurrent access.
    private struct UncheckedProcess: @unchecked Sendable {
        let process: Process
    }

    /// Finds an executable: a name containing `/` is used as is, a bare name is looked up on `PATH`.
    static func locate(_ name: String) -> String? {
        func isExecutableFile(_ path: String) -> Bool {
            guard case .success(let status) = FileStatus.of(path), status.kind == .regular else { return false }
            return access(path, X_OK) == 0
        }
        if name.contains("/") { return isExecutableFile(name) ? name : nil }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }
}

/// Resumes the waiter once the child has exited, whichever of the two happens first.
private final class ExitSignal: Sendable {
    private let state = Mutex<(exited: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    var hasExited: Bool { state.withLock { $0.exited } }

    func signal() {
        let waiter = state.withLock { state in
            state.exited = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let exited = state.withLock { state in
                if !state.exited { state.waiter = continuation }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }
}

/// Stops the child once, remembering why, and escalates to SIGKILL after a grace second.
private final class Stopper: Sendable {
    enum Reason { case cancelled, timedOut }

    private let pid: Int32
    private let exit: ExitSignal
    private let stored = Mutex<Reason?>(nil)

    init(pid: Int32, exit: ExitSignal) {
        self.pid = pid
        self.exit = exit
    }

    var reason: Reason? { stored.withLock { $0 } }

    func stop(_ reason: Reason) {
        let first = stored.withLock { stored in
            defer { if stored == nil { stored = reason } }
            return stored == nil
        }
        // Checking the exit flag first keeps us from signalling a recycled pid after the child was reaped.
        guard first, !exit.hasExited else { return }
        kill(pid, SIGTERM)
        let pid = self.pid, exit = self.exit
        Task {
            try? await Task.sleep(for: .seconds(1))
            if !exit.hasExited { kill(pid, SIGKILL) }
        }
    }
}

/// A private temporary file that receives one stream of a child's output.
private struct OutputFile {
    let path: String
    let handle: FileHandle

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/chorus-output-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw ChorusError(.internal, "cannot create a temporary file: \(POSIXErrorCode.current)")
        }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    func contents() -> [UInt8] {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
    }

    func remove() {
        unlink(path)
    }
}
