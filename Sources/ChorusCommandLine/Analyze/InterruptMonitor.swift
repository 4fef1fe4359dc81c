import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Turns Ctrl-C (SIGINT) into task cancellation while a call runs.
///
/// The first SIGINT runs `onInterrupt` (which cancels the task running the call, so the call is
/// cancelled on the server through ordinary task cancellation). A second SIGINT means the user does
/// not want to wait for that: the process exits at once with 130, after writing `emergencyOutput`
/// (e.g. the escape sequence that shows the cursor again).
///
/// ```swift
/// let task = Task { await AnalyzeRunner.run(request, timeout: nil, backend: backend, renderer: renderer) }
/// let monitor = await InterruptMonitor.install { task.cancel() }
/// let outcome = await task.value
/// monitor.uninstall()
/// ```
public final class InterruptMonitor: Sendable {
    // Dispatch's source types are not marked Sendable; the source is only touched in `install`
    // and `uninstall`, which the owner calls in order from one task.
    private nonisolated(unsafe) let source: any DispatchSourceSignal
    private let interrupts = Atomic<Int>(0)

    private init(source: any DispatchSourceSignal) {
        self.source = source
    }

    /// True once SIGINT arrived.
    public var wasInterrupted: Bool { interrupts.load(ordering: .relaxed) > 0 }

    /// Starts handling SIGINT and returns once the handler is registered, so a Ctrl-C pressed right
    /// after this returns is never missed.
    public static func install(
        emergencyOutput: String = "",
        onInterrupt: @escaping @Sendable () -> Void
    ) async -> InterruptMonitor {
        #if canImport(Darwin)
            // Darwin delivers to dispatch sources via kqueue only when the default action is off;
            // on Linux, dispatch installs its own handler and SIG_IGN would discard the signal.
            signal(SIGINT, SIG_IGN)
        #endif
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let monitor = InterruptMonitor(source: source)
        source.setEventHandler { @Sendable [monitor] in
            let count = monitor.interrupts.add(1, ordering: .relaxed).newValue
            if count == 1 {
                onInterrupt()
            } else {
                FileDescriptorOutput.standardOutput.write(emergencyOutput)
                FileDescriptorOutput.standardError.write("\ninterrupted twice: exiting without waiting\n")
                _exit(ChorusExitCode.interrupted)
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            source.setRegistrationHandler { @Sendable in continuation.resume() }
            source.resume()
        }
        return monitor
    }

    /// Stops handling SIGINT.
    public func uninstall() {
        source.cancel()
        #if canImport(Darwin)
            signal(SIGINT, SIG_DFL)
        #endif
    }
}
