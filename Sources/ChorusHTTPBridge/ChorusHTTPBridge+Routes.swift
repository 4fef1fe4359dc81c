import ChorusCore
import ChorusWire
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension ChorusHTTPBridge {
    static let streamPath = "/api/analyze/stream/parallel"

    func addRoutes(to router: Router<BridgeRequestContext>) {
        router.post(RouterPath(stringLiteral: Self.streamPath)) { request, context in
            try await self.analyze(request, context: context, fromJSON: true)
        }
        router.get(RouterPath(stringLiteral: Self.streamPath)) { request, context in
            try await self.analyze(request, context: context, fromJSON: false)
        }
        router.get("/api/models") { _, _ in
            let models = try await self.service.listModels(context: CallContext(logger: self.logger))
            return Self.json(ModelInfo.jsonLine(for: models))
        }
        router.get("/healthz") { _, _ in
            Self.json(#"{"status":"ok"}"#)
        }
        router.get("/readyz") { _, _ in
            if self.registry.isDraining {
                throw BridgeError(.serviceUnavailable, .unavailable, "draining")
            }
            let health = try await self.service.health(context: CallContext(logger: self.logger))
            guard health.status == .serving else {
                throw BridgeError(.serviceUnavailable, .unavailable, "the Chorus service is not serving")
            }
            return Self.json(#"{"status":"ready"}"#)
        }
        for path in ["/", "/index.html", "/app.js", "/style.css"] {
            router.get(RouterPath(stringLiteral: path)) { _, _ in
                guard let asset = self.assets.assets[path] else {
                    throw BridgeError(.notFound, .notFound, "\(path) is not bundled in this build")
                }
                return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-cache"], body: ResponseBody(byteBuffer: asset.body))
            }
        }
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// POST (JSON body) and GET (query, for EventSource) share everything after parsing.
    ///
    /// The request, its call and its pump run on the connection's event loop, as chorusd's RPC
    /// calls do (see EventLoopTaskExecutor): from the model to the socket, an event then stays on
    /// one thread, and so does the call's start. The connection's task is already there (see
    /// EventLoopHTTP1Channel), and the call joins its executor.
    private func analyze(_ request: Request, context: BridgeRequestContext, fromJSON: Bool) async throws -> Response {
        let executor = EventLoopHTTP1Channel.connectionExecutor ?? EventLoopTaskExecutor(eventLoop: context.channel.eventLoop)
        return try await withTaskExecutorPreference(executor) {
            try await stream(request, context: context, executor: executor, fromJSON: fromJSON)
        }
    }

    private func stream(_ request: Request, context: BridgeRequestContext, executor: EventLoopTaskExecutor, fromJSON: Bool) async throws -> Response {
        var request = request
        let analyzeRequest: AnalyzeRequest
        do {
            analyzeRequest = try await parse(&request, fromJSON: fromJSON)
        } catch let error as ChorusError {
            throw BridgeError(error, retryAfterSeconds: configuration.retryAfterSeconds)
        }
        var lastEventID = try Self.lastEventID(request)
        if analyzeRequest.requestID == nil {
            // Without a request_id there is nothing to resume: this is a new call, and skipping
            // its first events would hand the client a stream without `start`.
            lastEventID = nil
        }
        let call: BridgeCall
        if lastEventID != nil, let requestID = analyzeRequest.requestID {
            // Resume: attach to the running or recently finished call; no model runs again.
            guard let existing = registry.find(requestID) else {
                throw BridgeError(.notFound, .notFound, "no call with request_id '\(requestID)' is running or recently finished; start a new call")
            }
            call = existing
        } else {
            let callContext = CallContext(
                metadata: [],
                peer: nil,
                logger: logger
            )
            call = try registry.start(analyzeRequest, context: callContext, executor: executor)
            if let failure = await call.awaitStart() {
                registry.discard(call)
                throw BridgeError(failure, retryAfterSeconds: configuration.retryAfterSeconds)
            }
            // The call has just queued its models; let them start their upstream requests before
            // this task writes the response head and the line-up (two syscalls that would
            // otherwise delay the requests, and so the first token).
            await executor.letQueuedJobsRun(configuration.flushCoalescing)
        }
        let heartbeat = configuration.heartbeatInterval
        let resumeGrace = configuration.resumeGracePeriod
        let coalescing = configuration.flushCoalescing
        let startAfter = lastEventID ?? 0
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8",
            .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
            HTTPField.Name("X-Request-Id")!: call.requestID,
        ]
        // No watch: the connection closed between the request and here (its handler left).
        let watch = connectionWatches.watch(for: context.channel) ?? ConnectionWatch.closed
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await withTaskExecutorPreference(executor) {
                try await CallTimers.$current.withValue(EventLoopTimer(eventLoop: executor.eventLoop)) {
                    try await Self.pump(
                        call: call, after: startAfter, heartbeat: heartbeat, resumeGrace: resumeGrace, watch: watch,
                        settle: { await executor.letQueuedJobsRun(coalescing) }, writer: &writer)
                }
                try await writer.finish(nil)
            }
        })
    }

    private func parse(_ request: inout Request, fromJSON: Bool) async throws -> AnalyzeRequest {
        guard fromJSON else {
            return try AnalyzeRequestParser.parse(query: request.uri.queryParameters)
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw BridgeError(
                .unsupportedMediaType, .invalidArgument,
                "Content-Type must be application/json (got '\(contentType.isEmpty ? "none" : contentType)')"
            )
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw BridgeError(.contentTooLarge, .resourceExhausted, "request body is \(length) bytes; the limit is \(configuration.maxBodyBytes)")
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            // `collect(upTo:)` throws this (not an HTTPError) when a body without Content-Length
            // (chunked) grows past the limit.
            throw BridgeError(.contentTooLarge, .resourceExhausted, "request body exceeds the limit of \(configuration.maxBodyBytes) bytes")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw BridgeError(.contentTooLarge, .resourceExhausted, "request body exceeds the limit of \(configuration.maxBodyBytes) bytes")
        }
        return try AnalyzeRequestParser.parse(json: Array(body.readableBytesView))
    }

    static func lastEventID(_ request: Request) throws -> UInt64? {
        let raw = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters.get("last_event_id")
        guard let raw, !raw.isEmpty else { return nil }
        guard let value = UInt64(raw.trimmingCharacters(in: .whitespaces)) else {
            throw BridgeError(.badRequest, .invalidArgument, "Last-Event-ID must be an event id (a non-negative integer), got '\(raw)'")
        }
        return value
    }

    /// Writes the call's events to one client: whole SSE events (a batch per write when the
    /// client is behind), a heartbeat comment when the stream is quiet, `[DONE]` at the end.
    /// Leaving (disconnect) detaches the client; the last client leaving a running call cancels it,
    /// at once or, with a resume grace, unless a client resumes it within the grace.
    /// Throws `CancellationError` when the client left, so Hummingbird closes the connection
    /// instead of keeping it for another request.
    /// - Parameter settle: Run when new events woke the pump, before it takes them: lets the jobs
    ///   queued behind it add the rest of a burst, so a model's last chunk, its `model_end` and the
    ///   call's `complete` leave in one write (see ``ChorusWire/FlushCoalescing``).
    ///
    /// `@concurrent` because Hummingbird's `ResponseBodyWriter.write` is: calling it from a
    /// caller-isolated function would send the `inout` writer across isolation.
    @concurrent static func pump(
        call: BridgeCall, after lastEventID: UInt64, heartbeat: Duration, resumeGrace: Duration, watch: ConnectionWatch,
        settle: @escaping @Sendable () async -> Void, writer: inout any ResponseBodyWriter
    ) async throws {
        let id = call.subscribe(after: lastEventID)
        let token = watch.onClose { call.disconnect(id) }
        defer {
            watch.cancel(token)
            if call.unsubscribe(id) {
                if resumeGrace > .zero {
                    call.lastClientLeft()
                } else {
                    call.requestCancel(reason: "the client disconnected")
                }
            }
        }
        // The tail is written after the heartbeat child has ended, right before the caller ends the
        // response: the last events, `[DONE]` and the chunked terminator then go out in one write.
        let tail = try await withThrowingTaskGroup(of: Void.self) { group -> [ByteBuffer] in
            // One timer per client for the whole stream (a timer per event cost more than the
            // event itself): it wakes the pump only after a whole quiet interval.
            group.addTask {
                while !Task.isCancelled, let deadline = call.heartbeatDeadline(for: id, interval: heartbeat) {
                    // A deadline already passed means a heartbeat is pending behind a slow write:
                    // look again an interval later instead of spinning.
                    let now = ContinuousClock.now
                    try? await CallTimers.sleep(until: deadline > now ? deadline : now + heartbeat)
                    call.heartbeatIfQuiet(id, interval: heartbeat)
                }
            }
            defer { group.cancelAll() }
            while true {
                guard let chunk = await call.next(for: id, afterWake: settle) else { throw CancellationError() }
                switch chunk {
                case .events(let bytes):
                    try await writer.write(bytes)
                case .heartbeat:
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                case .end(let buffers):
                    return buffers
                }
            }
        }
        try await writer.write(contentsOf: tail)
    }
}
