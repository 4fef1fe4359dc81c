import ChorusCore
import ChorusCurl
import Logging
import Synchronization

extension GeminiProvider {
    /// `{base}/models/{model}:streamGenerateContent?alt=sse`.
    var streamURL: String {
        // `models/gemini-x` and `gemini-x` both name the model (the SDKs accept either).
        let model = settings.upstreamModel.hasPrefix("models/") ? String(settings.upstreamModel.dropFirst(7)) : settings.upstreamModel
        return settings.url("/models/\(model):streamGenerateContent?alt=sse")
    }

    /// Streams one answer under the model's concurrency limit and retry policy.
    ///
    /// - Parameter fileRejected: set when Gemini refused the request because of `file`
    ///   (deleted, expired or not `ACTIVE`), so the caller can upload the video again.
    func stream(
        _ prompt: ModelPrompt, file: GeminiFile?, key: APIKey, output: ModelOutputWriter, fileRejected: GeminiFileRejection?
    ) async throws -> ModelCompletion {
        let body = try GeminiRequest(prompt: prompt, file: file).encoded()
        return try await UpstreamAttempts.run(retry: settings.retry, limiter: settings.limiter, output: output) { output, attempt in
            try await streamOnce(prompt, body: body, file: file, key: key, output: output, attempt: attempt, fileRejected: fileRejected)
        }
    }

    private func streamOnce(
        _ prompt: ModelPrompt, body: [UInt8], file: GeminiFile?, key: APIKey, output: ModelOutputWriter, attempt: Int,
        fileRejected: GeminiFileRejection?
    ) async throws -> ModelCompletion {
        let response = try await settings.http.execute(HTTPRequestSpec(
            method: "POST", url: streamURL,
            headers: [
                ("x-goog-api-key", key.headerValue),
                ("Content-Type", "application/json"),
                ("Accept", "text/event-stream"),
            ],
            body: body, connectTimeout: settings.connectTimeout))
        let status = response.head.status
        guard (200..<300).contains(status) else {
            let answer = try await response.collectBody(limit: 64 << 10)
            let error = UpstreamErrors.http(settings, status: status, head: response.head, body: answer)
            if let file, status == 400 || status == 403, String(decoding: answer, as: UTF8.self).contains(file.id) {
                fileRejected?.record()
            }
            logger.debug("gemini answered an error", metadata: [
                "status": "\(status)", "attempt": "\(attempt)", "request_id": "\(prompt.requestID)",
            ])
            throw error
        }

        var parser = GeminiStreamParser(settings: settings)
        var loggedResponseID = false
        do {
            for try await chunk in response.body {
                let (text, failure) = parser.feed(chunk)
                if !loggedResponseID, let id = parser.responseID {
                    loggedResponseID = true
                    logger.debug("gemini stream started", metadata: [
                        "response_id": "\(id)", "attempt": "\(attempt)", "request_id": "\(prompt.requestID)",
                    ])
                }
                try await output.write(text)
                if let failure { throw failure }
            }
        } catch let error as CurlError where error.code != 28 {
            // The connection broke mid-body (28, a timeout, keeps its own code): the answer is
            // incomplete, exactly as if the stream had ended early.
            var failure = UpstreamErrors.truncated(settings, partial: parser.partialEvent)
            failure.message += " (\(error.message))"
            throw failure
        }
        let completion = try parser.finish()
        logger.debug("gemini stream finished", metadata: [
            "response_id": "\(parser.responseID ?? "-")", "finish_reason": "\(completion.finishReason)",
            "output_tokens": "\(completion.outputTokens.map(String.init) ?? "-")", "request_id": "\(prompt.requestID)",
        ])
        return completion
    }
}

/// Set by a stream attempt when Gemini refused the request because of its file reference, so
/// that the caller (outside the retry loop, which only passes ``ChorusError``s on) can upload again.
final class GeminiFileRejection: Sendable {
    private let flag = Atomic<Bool>(false)

    var happened: Bool { flag.load(ordering: .relaxed) }

    func record() {
        flag.store(true, ordering: .relaxed)
    }
}
