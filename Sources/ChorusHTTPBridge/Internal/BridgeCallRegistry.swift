import ChorusCore
import ChorusWire
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// The calls the bridge is running or keeps for resumption, keyed by request id. Calls run as
/// child tasks of ``run()``, so stopping the bridge cancels them all.
///
/// Each event loop has its own lane: a task on that loop that receives the calls started by its
/// connections and runs them as its children. A request hands its call over without leaving its
/// loop's thread; with one lane on the global pool, every call start cost two thread wake-ups
/// (request → pool → loop, about 0.3 ms of the bridge's time to first token).
final class BridgeCallRegistry: Sendable {
    private struct State {
        var calls: [String: BridgeCall] = [:]
        var running = 0
        var draining = false
        /// Finished calls kept for resumption, oldest first (calls finish in this order), and the
        /// replay bytes they hold: expiry and the memory budget both evict from the front.
        var retained = CircularBuffer<Retained>()
        var retainedBytes = 0

        /// Forgets the oldest retained call.
        mutating func evictOldest() {
            let oldest = retained.removeFirst()
            retainedBytes -= oldest.bytes
            if calls[oldest.call.requestID] === oldest.call { calls.removeValue(forKey: oldest.call.requestID) }
        }
    }

    private struct Retained {
        var call: BridgeCall
        var finishedAt: ContinuousClock.Instant
        var bytes: Int
    }

    private let service: any ChorusService
    private let configuration: ChorusHTTPBridge.Configuration
    private let logger: Logger
    private let state = Mutex(State())
    /// One per event loop of the server's group, keyed by the loop's identity.
    private let lanes: [ObjectIdentifier: Lane]
    /// Finished by ``beginDrain()``: starts the drain grace (see ``enforceDrainGrace()``).
    private let drainBegan: (stream: AsyncStream<Never>, continuation: AsyncStream<Never>.Continuation) = AsyncStream.makeStream()

    private struct Lane: Sendable {
        var executor: EventLoopTaskExecutor
        var jobs: AsyncStream<Job>
        var continuation: AsyncStream<Job>.Continuation
    }

    private struct Job: Sendable {
        var call: BridgeCall
        var context: CallContext
        var executor: EventLoopTaskExecutor
    }

    init(
        service: any ChorusService, configuration: ChorusHTTPBridge.Configuration, eventLoopGroup: any EventLoopGroup,
        logger: Logger
    ) {
        self.service = service
        self.configuration = configuration
        self.logger = logger
        var lanes: [ObjectIdentifier: Lane] = [:]
        for loop in eventLoopGroup.makeIterator() {
            let (jobs, continuation) = AsyncStream<Job>.makeStream()
            lanes[ObjectIdentifier(loop)] = Lane(
                executor: EventLoopTaskExecutor(eventLoop: loop), jobs: jobs, continuation: continuation)
        }
        self.lanes = lanes
    }

    /// Runs submitted calls until ``stop()``, and evicts finished calls after the retention period.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.evictLoop() }
            group.addTask { await self.enforceDrainGrace() }
            await withDiscardingTaskGroup { lanes in
                for lane in self.lanes.values {
                    lanes.addTask(executorPreference: lane.executor) { await self.run(lane) }
                }
            }
            group.cancelAll()
        }
    }

    private func run(_ lane: Lane) async {
        await withDiscardingTaskGroup { group in
            for await job in lane.jobs {
                group.addTask(executorPreference: job.executor) {
                    // The call's timers on the same loop as the call (see CallTimer).
                    await CallTimers.$current.withValue(EventLoopTimer(eventLoop: job.executor.eventLoop)) {
                        await self.execute(job.call, context: job.context)
                    }
                }
            }
            // The bridge stopped (its HTTP server finished draining): stop any call no client is
            // attached to any more.
            group.cancelAll()
        }
    }

    func stop() {
        for lane in lanes.values { lane.continuation.finish() }
    }

    /// Starts a call, preferring `executor` for it (the requesting connection's event loop).
    /// Throws a ``BridgeError`` when limited, draining, or the request id is in use.
    func start(_ request: AnalyzeRequest, context: CallContext, executor: EventLoopTaskExecutor) throws -> BridgeCall {
        let requestID = request.requestID ?? BridgeCallRegistry.generateID()
        var request = request
        request.requestID = requestID
        let call = BridgeCall(requestID: requestID, request: request, maxLag: configuration.maxClientLag, replayMaxBytes: configuration.replayMaxBytes)
        try state.withLock { state in
            if state.draining {
                throw BridgeError(.serviceUnavailable, .unavailable, "the server is draining and accepts no new calls; retry on another instance",
                                  headers: [.retryAfter: String(configuration.retryAfterSeconds)])
            }
            if state.running >= configuration.maxConcurrentCalls {
                throw BridgeError(.tooManyRequests, .resourceExhausted,
                                  "too many concurrent calls (limit \(configuration.maxConcurrentCalls)); retry after \(configuration.retryAfterSeconds)s",
                                  headers: [.retryAfter: String(configuration.retryAfterSeconds)])
            }
            if let existing = state.calls[requestID] {
                let verb = existing.isFinished ? "recently finished" : "is still running"
                throw BridgeError(.conflict, .alreadyExists,
                                  "request_id '\(requestID)' \(verb); send Last-Event-ID to resume it or use a new request_id")
            }
            state.calls[requestID] = call
            state.running += 1
        }
        // A loop outside the group (not expected) still works through any lane, one hop away.
        let lane = lanes[ObjectIdentifier(executor.eventLoop)] ?? lanes.values.first!
        lane.continuation.yield(Job(call: call, context: context, executor: executor))
        return call
    }

    func find(_ requestID: String) -> BridgeCall? {
        state.withLock { $0.calls[requestID] }
    }

    /// Forgets a call that was answered as an HTTP error (it never streamed).
    func discard(_ call: BridgeCall) {
        state.withLock { state in
            if state.calls[call.requestID] === call { state.calls.removeValue(forKey: call.requestID) }
        }
    }

    /// New calls get 503 from now on; calls still running after the drain grace are stopped.
    func beginDrain() {
        state.withLock { $0.draining = true }
        drainBegan.continuation.finish()
    }

    /// Once a drain began, waits ``ChorusHTTPBridge/Configuration/drainGracePeriod``, then ends the
    /// calls still running with a retryable UNAVAILABLE: without a bound, one long answer (a
    /// model's `total_ms` may be minutes) would hold the process until its supervisor kills it,
    /// and its client would get a cut connection instead of an `error` event and `[DONE]`.
    /// Returns early when the bridge stops first (cancelled).
    private func enforceDrainGrace() async {
        for await _ in drainBegan.stream {}
        guard !Task.isCancelled else { return }
        let grace = configuration.drainGracePeriod
        try? await Task.sleep(for: grace)
        guard !Task.isCancelled else { return }
        let running = state.withLock { state in state.calls.values.filter { !$0.isFinished } }
        guard !running.isEmpty else { return }
        logger.info("stopping calls at the end of the drain grace", metadata: ["calls": "\(running.count)", "grace": "\(grace)"])
        let error = ChorusError(
            .unavailable, "server shutting down: the call did not finish within the \(grace) drain grace period", retryable: true)
        for call in running { call.requestStop(error) }
    }

    var isDraining: Bool { state.withLock { $0.draining } }
    var runningCalls: Int { state.withLock { $0.running } }

    private func execute(_ call: BridgeCall, context: CallContext) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // The call's slot is released before its outcome is published: a client told 400
                // (or [DONE]) may start its next call at once, and must not find the slot still taken.
                do {
                    try await self.service.analyze(call.request, context: context, sink: call)
                    self.releaseSlot()
                    call.finish(.completed)
                } catch {
                    self.releaseSlot()
                    let reason = call.isFinished ? nil : ChorusError(from: error)
                    if let reason { call.finish(.failed(reason)) }
                }
            }
            group.addTask {
                let grace = self.configuration.resumeGracePeriod
                while let signal = await call.waitForCancelRequest() {
                    switch signal {
                    case .stop(let error):
                        call.finish(.failed(error))
                        return
                    case .detached(let generation):
                        // Keep running for a client that reconnects with Last-Event-ID; the sleep
                        // ends early (cancelled) when the call finishes meanwhile.
                        try? await CallTimers.sleep(for: grace)
                        if Task.isCancelled { return }
                        if call.isStillDetached(generation) {
                            call.finish(.failed(ChorusError(.cancelled, "the client disconnected and did not resume within \(grace)")))
                            return
                        }
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
        retain(call)
    }

    private func releaseSlot() {
        state.withLock { $0.running -= 1 }
    }

    /// Keeps a finished call resumable for ``ChorusHTTPBridge/Configuration/replayRetention``,
    /// within one budget for all finished calls together (``ChorusHTTPBridge/Configuration/replayMaxCalls``
    /// and ``ChorusHTTPBridge/Configuration/replayMaxTotalBytes``): past it the oldest are
    /// forgotten at once, so a high call rate cannot grow memory by its rate times the retention.
    private func retain(_ call: BridgeCall) {
        let bytes = call.replayBytes
        let streamed = call.lastSeq > 0
        state.withLock { state in
            guard state.calls[call.requestID] === call else { return }
            guard streamed else {
                // Refused before its first event (answered as an HTTP error): nothing to resume,
                // and a flood of bad requests must not push finished calls out of the budget.
                state.calls.removeValue(forKey: call.requestID)
                return
            }
            state.retained.append(Retained(call: call, finishedAt: .now, bytes: bytes))
            state.retainedBytes += bytes
            while !state.retained.isEmpty,
                configuration.replayRetention <= .zero || state.retainedBytes > configuration.replayMaxTotalBytes
                    || state.retained.count > configuration.replayMaxCalls
            {
                state.evictOldest()
            }
        }
    }

    /// Forgets finished calls older than the retention. Each pass looks only at the calls it
    /// evicts (the front of the queue); it used to filter the whole table under the lock once a
    /// second, 100,000 calls at 1,700 calls/s.
    private func evictLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let retention = configuration.replayRetention
            state.withLock { state in
                let now = ContinuousClock.now
                while let oldest = state.retained.first, now - oldest.finishedAt >= retention {
                    state.evictOldest()
                }
            }
        }
    }

    static func generateID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
