public import ChorusCore
import ChorusWire
import NIOCore

/// The events of one Analyze call, as an `AsyncSequence`.
///
/// Iterating starts the call. Breaking out of the loop, dropping the iterator or cancelling the
/// iterating task cancels the call on the server (a CANCEL frame). The sequence ends after the
/// `complete` event and the server's OK status, or throws a ``ChorusError``.
public struct AnalyzeStream: AsyncSequence, Sendable {
    public typealias Element = AnalyzeEvent
    public typealias Failure = any Error

    let client: ChorusClient
    let request: AnalyzeRequest
    let options: CallOptions

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self)
    }

    public final class AsyncIterator: AsyncIteratorProtocol {
        private let stream: AnalyzeStream
        private var reader: ClientCallReader?
        private var call: ClientCall? { reader?.call }
        private var finished = false
        private var receivedAny = false
        private var refusals = 0

        init(stream: AnalyzeStream) {
            self.stream = stream
        }

        deinit {
            // Dropped mid-stream (e.g. `break` out of the loop): tell the server to stop.
            if let call, !finished, !call.isFinished { call.cancel(reason: "the client stopped reading") }
        }

        public func next() async throws -> AnalyzeEvent? {
            guard !finished else { return nil }
            while true {
                do {
                    if reader == nil {
                        reader = ClientCallReader(call: try await stream.client.startCall(method: ChorusMethod.analyze, request: stream.request, options: stream.options))
                    }
                    guard let payload = try await reader!.next() else {
                        finished = true
                        return nil
                    }
                    receivedAny = true
                    do {
                        return try AnalyzeEvent(decoding: payload)
                    } catch {
                        call?.cancel(reason: "undecodable event")
                        throw ChorusError(.internal, "server sent an undecodable AnalyzeEvent (\(payload.readableBytes) bytes)")
                    }
                } catch let refused as RefusedCall {
                    // The server did not process the call (it was draining); retry on a new connection.
                    reader = nil
                    refusals += 1
                    if receivedAny || refusals > stream.client.configuration.transparentRetries {
                        finished = true
                        throw refused.error
                    }
                } catch {
                    finished = true
                    if error is CancellationError { throw error }
                    throw ChorusError(from: error)
                }
            }
        }
    }
}

extension ChorusClient: ChorusService {
    /// Forwards a remote Analyze stream into `sink`, so a `ChorusClient` can stand in for a local
    /// service (the HTTP bridge in front of a remote `chorusd` uses this).
    ///
    /// Events are decoded and appended to `sink` on the connection's event loop as they arrive;
    /// the calling task wakes only to return flow-control credit (once per half of
    /// ``Configuration/callWindow``, after `sink.waitForCapacity()`) and at the end. Reading many
    /// token-paced streams this way costs no task wake-up per event, where iterating
    /// ``analyze(_:options:)`` wakes the reading task for every event. A sink that stops making
    /// room holds the server back after one window. Cancelling the task cancels the remote call.
    ///
    /// ```swift
    /// let client = ChorusClient(host: "127.0.0.1", port: 7070)
    /// try await client.analyze(AnalyzeRequest(query: "What happens?", models: ["demo"]), context: CallContext(), sink: mySink)
    /// ```
    public func analyze(_ request: AnalyzeRequest, context: CallContext, sink: some AnalyzeEventSink) async throws {
        var metadata = context.metadata
        metadata.removeAll { $0.key.hasPrefix(":") }
        let timeout = context.deadline.map { ContinuousClock.now.duration(to: $0) }
        if let timeout, timeout <= .zero { throw ChorusError(.deadlineExceeded, "deadline already passed") }
        let options = CallOptions(timeout: timeout, metadata: metadata)
        var refusals = 0
        while true {
            let call = try await startCall(method: ChorusMethod.analyze, request: request, options: options) { payloads in
                var events: [AnalyzeEvent] = []
                events.reserveCapacity(payloads.count)
                var failedAt: Int?
                for (index, payload) in payloads.enumerated() {
                    guard let event = try? AnalyzeEvent(decoding: payload) else {
                        failedAt = index
                        break
                    }
                    events.append(event)
                }
                sink.append(contentsOf: events)
                return failedAt
            }
            do {
                try await call.runPushed { try await sink.waitForCapacity() }
                return
            } catch let refused as RefusedCall {
                // The server did not process the call (it was draining); retry on a new connection.
                refusals += 1
                if call.delivered || refusals > configuration.transparentRetries { throw refused.error }
            } catch {
                if error is CancellationError { throw error }
                throw ChorusError(from: error)
            }
        }
    }

    public func listModels(context: CallContext) async throws -> [ModelInfo] {
        try await listModels(options: CallOptions(metadata: context.metadata))
    }

    public func health(context: CallContext) async throws -> HealthReport {
        try await health(options: CallOptions(metadata: context.metadata))
    }
}
