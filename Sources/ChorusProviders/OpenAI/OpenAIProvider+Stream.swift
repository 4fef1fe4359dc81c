import ChorusCore
import ChorusCurl
import Logging

extension OpenAIProvider {
    /// One attempt: sends `request` and streams the answer to `output`.
    func streamOnce(_ request: HTTPRequestSpec, output: ModelOutputWriter, logger: Logger) async throws
        -> ModelCompletion
    {
        let response: HTTPStreamingResponse
        do {
            response = try await settings.http.execute(request)
        } catch let error as CurlError {
            throw transportError(error)
        }
        let head = response.head
        logger.debug(
            "upstream answered",
            metadata: [
                "status": "\(head.status)",
                "x-request-id": "\(head.header("x-request-id") ?? "-")",
                "x-ratelimit-remaining-requests": "\(head.header("x-ratelimit-remaining-requests") ?? "-")",
                "x-ratelimit-remaining-tokens": "\(head.header("x-ratelimit-remaining-tokens") ?? "-")",
            ])
        guard (200..<300).contains(head.status) else {
            // An error body is one small JSON object, not events; a body that fails halfway still
            // leaves the status to report.
            let body = (try? await response.collectBody(limit: 64 << 10)) ?? []
            try Task.checkCancellation()
            let error = UpstreamErrors.http(settings, status: head.status, head: head, body: body)
            throw OpenAIRateLimits.adjust(error, status: head.status, head: head, body: body)
        }

        var decoder = SSEDecoder()
        var parser = OpenAIStreamParser(settings: settings)
        // The last bytes received: what a cut connection left of its unfinished event.
        var tail = ByteTail(capacity: 256)
        do {
            for try await chunk in response.body {
                tail.append(chunk)
                for event in try decode(chunk, with: &decoder) {
                    if let text = try parser.parse(event) { try await output.write(text) }
                    // Nothing after [DONE] is parsed (the SDK's rule); leaving the loop ends the
                    // transfer now instead of waiting for a server that might linger.
                    if parser.sawDone { return finish(parser, logger: logger) }
                }
            }
        } catch let error as CurlError {
            // 18 (partial file) and 56 (receive failure) are a connection cut mid-body; a finish
            // reason already received means only the usage chunk and [DONE] were lost.
            if parser.isComplete && error.code != 28 { return finish(parser, logger: logger) }
            if error.code == 28 { throw transportError(error) }
            var truncated = UpstreamErrors.truncated(settings, partial: unfinishedEvent(decoder, tail))
            truncated.message += " (\(error.message))"
            throw truncated
        }
        guard parser.isComplete else {
            throw UpstreamErrors.truncated(settings, partial: unfinishedEvent(decoder, tail))
        }
        return finish(parser, logger: logger)
    }

    private func decode(_ chunk: [UInt8], with decoder: inout SSEDecoder) throws(ChorusError) -> [SSEDecoder.Event] {
        do {
            return try decoder.feed(chunk)
        } catch {
            throw UpstreamErrors.malformed(settings, "server-sent event lines of at most \(error.limit) bytes", got: error.prefix)
        }
    }

    private func finish(_ parser: OpenAIStreamParser, logger: Logger) -> ModelCompletion {
        let completion = parser.completion
        logger.debug(
            "upstream answer complete",
            metadata: [
                "finish_reason": "\(completion.finishReason)",
                "output_tokens": "\(completion.outputTokens.map(String.init) ?? "-")",
            ])
        return completion
    }

    /// The bytes of the event a stream ended in the middle of (empty when it ended between events).
    private func unfinishedEvent(_ decoder: SSEDecoder, _ tail: ByteTail) -> [UInt8] {
        if decoder.pendingLineBytes > 0 { return tail.suffix(decoder.pendingLineBytes) }
        return decoder.hasPartialEvent ? tail.bytes : []
    }

    /// A transport failure, named after the upstream (curl's own text does not say which one).
    func transportError(_ error: CurlError) -> ChorusError {
        var mapped = ChorusError(from: error)
        mapped.message = "\(settings.provider.displayName): \(mapped.message)"
        return mapped
    }
}

/// The last `capacity` bytes of a stream.
struct ByteTail {
    let capacity: Int
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func append(_ chunk: [UInt8]) {
        bytes.append(contentsOf: chunk.suffix(capacity))
        if bytes.count > capacity { bytes.removeFirst(bytes.count - capacity) }
    }

    func suffix(_ count: Int) -> [UInt8] { Array(bytes.suffix(count)) }
}
