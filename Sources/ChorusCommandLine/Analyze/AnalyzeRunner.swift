public import ChorusCore
import Synchronization

/// Runs one Analyze call against a backend and feeds its events to a renderer.
///
/// The event loop runs in the caller's task, so cancelling that task (what Ctrl-C does) stops
/// iterating the call's stream, which cancels the call on the server. When the renderer wants
/// ticks, a child task delivers them; a lock makes ticks and events take turns, so the renderer
/// itself stays a plain single-threaded value.
///
/// ```swift
/// let outcome = await AnalyzeRunner.run(request, timeout: .seconds(60), backend: backend,
///                                       renderer: PlainRenderer(output: FileDescriptorOutput.standardOutput))
/// exit(outcome.exitCode)
/// ```
public enum AnalyzeRunner {
    /// Runs the call to its end and returns how it ended, after `renderer.finish(_:)`.
    ///
    /// Never throws: every failure becomes an ``AnalyzeOutcome``. A stream that ends without
    /// `complete` is a failure (`UNAVAILABLE`), since the answers may be incomplete.
    public static func run<Renderer: AnalyzeRenderer>(
        _ request: AnalyzeRequest,
        timeout: Duration?,
        backend: some ChorusCLIBackend,
        renderer: Renderer
    ) async -> AnalyzeOutcome {
        let box = RendererBox(renderer)
        let result: Result<StreamComplete?, any Error> = await withTaskGroup(of: Void.self) { group in
            if let interval = renderer.tickInterval {
                group.addTask {
                    while true {
                        do {
                            try await Task.sleep(for: interval)
                        } catch {
                            return
                        }
                        box.renderer.withLock { $0.tick() }
                    }
                }
            }
            defer { group.cancelAll() }
            do {
                var complete: StreamComplete?
                for try await event in backend.analyze(request, timeout: timeout) {
                    if case .complete(let payload) = event.payload {
                        complete = payload
                    }
                    box.renderer.withLock { $0.render(event) }
                }
                return .success(complete)
            } catch {
                return .failure(error)
            }
        }

        let outcome = outcome(of: result, cancelled: Task.isCancelled)
        box.renderer.withLock { $0.finish(outcome) }
        return outcome
    }

    /// Maps the end of the stream to an outcome. A `complete` event wins even if the task was
    /// cancelled right after it: the answers are all there.
    public static func outcome(of result: Result<StreamComplete?, any Error>, cancelled: Bool) -> AnalyzeOutcome {
        switch result {
        case .success(let complete?):
            return .completed(complete)
        case _ where cancelled:
            return .interrupted
        case .success(nil):
            return .failed(ChorusError(.unavailable, "the server ended the stream before the call completed"))
        case .failure(let error):
            return .failed(ChorusError(from: error))
        }
    }
}

/// Shares a renderer between the event loop and the tick task.
private final class RendererBox<Renderer: AnalyzeRenderer>: Sendable {
    let renderer: Mutex<Renderer>

    init(_ renderer: Renderer) {
        self.renderer = Mutex(renderer)
    }
}
