import ChorusCore
import ChorusCurl

/// A provider's parser of its streaming response body: bytes in, answer text out.
protocol UpstreamBodyParser: Sendable {
    /// Parses one chunk of the body (chunks split anywhere) and appends the text chunks it
    /// completed, in order.
    ///
    /// - Returns: true once the answer is complete: nothing after it is read.
    /// - Throws: when the body is not what the provider expects, or carries an error. Text appended
    ///   before the error is still written (first), as it would have been with a later chunk.
    mutating func feed(_ chunk: [UInt8], into texts: inout [String]) throws -> Bool
}

/// Relays an upstream's streaming body to a model's output.
///
/// When the output can be written without waiting, the body is parsed and written on curl's
/// thread as it arrives (``ChorusCurl/HTTPResponseBody/drive(_:_:)``), and the provider's task
/// is resumed only when the consumer falls behind or the body ends: the relay of thousands of
/// streams then costs no task resume per upstream chunk. A consumer that is behind pauses the
/// drive, and the task waits for room before driving on, so backpressure reaches the upstream as
/// it does when iterating (the transfer pauses once its buffer is full). Otherwise the body is
/// iterated and each text written with `write`.
///
/// ```swift
/// var parser = OpenAIBodyParser(settings: settings)
/// let complete = try await UpstreamRelay.relay(response.body, through: &parser, to: output)
/// ```
enum UpstreamRelay {
    /// - Returns: true when the parser said the answer is complete, false when the body ended first.
    /// - Throws: the transfer's ``ChorusCurl/CurlError`` (after the text parsed before it was
    ///   written), the parser's error, the output's error, or `CancellationError`.
    static func relay<Parser: UpstreamBodyParser>(
        _ body: HTTPResponseBody, through parser: inout Parser, to output: ModelOutputWriter
    ) async throws -> Bool {
        guard output.canWriteWithoutWaiting else { return try await iterate(body, through: &parser, to: output) }
        var state = DriveState(parser: parser)
        defer { parser = state.parser }
        do {
            while true {
                let end: HTTPResponseBody.DriveEnd
                do {
                    end = try await body.drive(&state) { state, chunk in try state.step(chunk, output: output) }
                } catch let error as CurlError {
                    // The text parsed before the transfer broke goes out first, as when iterating.
                    try await state.settle(output)
                    throw error
                }
                try await state.settle(output)
                if let failure = state.failure { throw failure }
                switch end {
                case .paused: continue
                case .ended: return false
                case .stopped: return true
                }
            }
        } catch {
            // A drive ended by an error or a stop has ended the transfer already; one that paused has not.
            body.cancel()
            throw error
        }
    }

    private static func iterate<Parser: UpstreamBodyParser>(
        _ body: HTTPResponseBody, through parser: inout Parser, to output: ModelOutputWriter
    ) async throws -> Bool {
        // Returning before the body ends drops the iterator, which ends the transfer.
        for try await chunk in body {
            var texts: [String] = []
            let complete: Bool
            do {
                complete = try parser.feed(chunk, into: &texts)
            } catch {
                for text in texts { try await output.write(text) }
                throw error
            }
            for text in texts { try await output.write(text) }
            if complete { return true }
        }
        return false
    }

    /// What a drive carries from chunk to chunk.
    private struct DriveState<Parser: UpstreamBodyParser>: Sendable {
        var parser: Parser
        /// Texts parsed but not yet written: those after a write that found the consumer behind.
        var pending: [String] = []
        /// A write found the consumer behind: `waitForRoom` comes before the next write.
        var mustWait = false
        /// The parser said the answer is complete.
        var complete = false
        /// The parser's error, thrown once the text before it is written.
        var failure: (any Error)?

        init(parser: Parser) {
            self.parser = parser
        }

        /// One chunk, on curl's thread (or the task's, for chunks buffered before the drive).
        mutating func step(_ chunk: [UInt8], output: ModelOutputWriter) throws -> HTTPResponseBody.DriveStep {
            do {
                complete = try parser.feed(chunk, into: &pending)
            } catch {
                failure = error
            }
            try writePending(output)
            if complete || failure != nil { return .stop }
            return mustWait ? .pause : .more
        }

        /// Writes pending texts until one finds the consumer behind.
        mutating func writePending(_ output: ModelOutputWriter) throws {
            var written = 0
            defer { pending.removeFirst(written) }
            while !mustWait, written < pending.count {
                mustWait = try output.writeWithoutWaiting(pending[written]) == .mustWait
                written += 1
            }
        }

        /// On the task, after a drive: waits for room while a write found the consumer behind,
        /// and writes what was held back meanwhile.
        mutating func settle(_ output: ModelOutputWriter) async throws {
            while mustWait {
                try await output.waitForRoom()
                mustWait = false
                try writePending(output)
            }
        }
    }
}
