public import ChorusCore
public import Logging
import Synchronization

/// Runs one question on several models at once and streams every model's answer as it is generated.
///
/// The orchestrator is the in-process ``ChorusService``: transports hand it a request, a call context
/// and a sink, and it appends `start`, per model `model_start` / `text_generation` / `model_end` or
/// `error`, and finally `complete`. Every model runs in its own child task with three clocks (first
/// chunk, idle gap, total); one model failing or timing out never stops the others.
///
/// ```swift
/// let orchestrator = Orchestrator(registry: BuiltInRegistry.make(), logger: logger)
/// let buffer = AnalyzeEventBuffer()
/// async let run: Void = {
///     defer { buffer.finish() }
///     try await orchestrator.analyze(AnalyzeRequest(query: "What happens?"), context: CallContext(), sink: buffer)
/// }()
/// for try await event in buffer { print(event.eventType, event.model ?? "") }
/// try await run
/// ```
public struct Orchestrator: ChorusService {
    /// The version reported by ``health(context:)`` when the caller passes none.
    public static let defaultVersion = "0.1.0"

    public let registry: ModelRegistry
    public let limits: ServiceLimits
    /// Checks `video_path` against the server's media root; nil refuses every `video_path`.
    public let videoPaths: (any VideoPathValidator)?
    public let version: String
    /// Used for diagnostics that are not part of the one-line-per-call summary (per-model failures at debug level).
    let logger: Logger
    let startedAt: ContinuousClock.Instant
    let activeCalls: ActiveCallCounter

    /// Creates an orchestrator serving the models in `registry`.
    ///
    /// - Parameters:
    ///   - registry: The models that may be run and the table used when a request names none.
    ///   - limits: Limits on what a request may ask for.
    ///   - videoPaths: The media root policy for `video_path` (nil: requests naming one are refused).
    ///   - version: Reported by ``health(context:)``.
    ///   - logger: Receives per-model diagnostics at debug level; per-call summaries go to the call's logger.
    public init(
        registry: ModelRegistry, limits: ServiceLimits = .init(), videoPaths: (any VideoPathValidator)? = nil,
        version: String = Orchestrator.defaultVersion, logger: Logger
    ) {
        self.registry = registry
        self.limits = limits
        self.videoPaths = videoPaths
        self.version = version
        self.logger = logger
        self.startedAt = .now
        self.activeCalls = ActiveCallCounter()
    }

    /// Validates `request`, then runs every requested (or recommended) model concurrently.
    ///
    /// Throws ``ChorusError`` with ``ChorusError/Code/invalidArgument`` before appending any event when the
    /// request is malformed, ``ChorusError/Code/deadlineExceeded`` when `context.deadline` passes, and
    /// `CancellationError` when the calling task is cancelled (no `complete` event in either case).
    public func analyze(_ request: AnalyzeRequest, context: CallContext, sink: some AnalyzeEventSink) async throws {
        let started = ContinuousClock.now
        let call: ValidatedRequest
        do {
            call = try RequestValidator(registry: registry, limits: limits, videoPaths: videoPaths).validate(request)
        } catch {
            logSummary(
                context: context, requestID: RequestValidator.loggableRequestID(request.requestID, limits: limits),
                models: request.models, outcome: "invalid_argument", started: started, result: nil
            )
            throw error
        }

        activeCalls.increment()
        defer { activeCalls.decrement() }

        let run = AnalyzeCall(
            call: call, options: request.options, video: request.video, deadline: context.deadline, sink: sink,
            logger: logger)
        do {
            let result = try await run.run(started: started)
            logSummary(
                context: context, requestID: call.requestID, models: call.models, outcome: "ok", started: started,
                result: result)
        } catch {
            let outcome: String
            if let error = error as? ChorusError, error.code == .deadlineExceeded {
                outcome = "deadline_exceeded"
            } else if error is CancellationError || (error as? ChorusError)?.code == .cancelled || Task.isCancelled {
                outcome = "cancelled"
            } else {
                outcome = "failed"
            }
            logSummary(
                context: context, requestID: call.requestID, models: call.models, outcome: outcome, started: started,
                result: run.partialResult)
            throw error
        }
    }

    /// The registry's models, sorted by name.
    public func listModels(context: CallContext) async throws -> [ModelInfo] {
        registry.entries.map(\.info)
    }

    /// Always ``HealthReport/Status/serving`` while the process runs, with uptime and the number of calls in flight.
    public func health(context: CallContext) async throws -> HealthReport {
        HealthReport(status: .serving, version: version, uptime: .now - startedAt, activeCalls: activeCalls.value)
    }

    private func logSummary(
        context: CallContext, requestID: String?, models: [String], outcome: String,
        started: ContinuousClock.Instant, result: CallResult?
    ) {
        let elapsed = ContinuousClock.now - started
        var metadata: Logger.Metadata = [
            "models": .string(models.joined(separator: ",")),
            "outcome": .string(outcome),
            "duration_ms": .stringConvertible(elapsed.microseconds / 1_000),
            "succeeded": .stringConvertible(result?.succeeded.count ?? 0),
            "failed": .stringConvertible(result?.failed.count ?? 0),
        ]
        if let requestID { metadata["request.id"] = .string(requestID) }
        context.logger.info("analyze finished", metadata: metadata)
    }
}

/// Counts calls in flight for ``Orchestrator/health(context:)``.
final class ActiveCallCounter: Sendable {
    private let count = Atomic<Int>(0)

    func increment() { count.add(1, ordering: .relaxed) }
    func decrement() { count.subtract(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
