import ChorusCore
import ChorusCurl
import Foundation
import Logging

extension TwelveLabsProvider {
    /// What a 404 means for `video`: an indexed video TwelveLabs does not know; for an inline
    /// video a 404 is about the endpoint, not the video.
    static func missingMessage(_ video: VideoInput) -> String {
        switch video {
        case .indexed(let videoID): "TwelveLabs has no video '\(videoID)' (check video_id, and that its index has Pegasus enabled)"
        case .inline(_, let name): "TwelveLabs answered 404 for the analysis of the local video '\(name)' (check the base URL)"
        case .asset(let id, let name, _): "TwelveLabs has no asset '\(id)' (the upload of the local video '\(name)')"
        }
    }

    /// Error bodies are small JSON objects; more than this is not worth reading.
    static let errorBodyLimit = 64 << 10

    /// One analyze request: status check, then the NDJSON stream until `stream_end`.
    func streamOnce(
        body: [UInt8], key: APIKey, video: VideoInput, output: ModelOutputWriter, logger: Logger
    ) async throws -> ModelCompletion {
        let request = HTTPRequestSpec(
            method: "POST", url: settings.url("/analyze"),
            headers: [
                ("x-api-key", key.headerValue), ("Content-Type", "application/json"),
                ("Accept", "application/x-ndjson"),
            ],
            body: body, connectTimeout: settings.connectTimeout)
        let response: HTTPStreamingResponse
        do {
            response = try await settings.http.execute(request)
        } catch let error as CurlError {
            throw transportError(error)
        }
        guard (200..<300).contains(response.head.status) else {
            let errorBody = try await TwelveLabsProvider.collectErrorBody(response)
            throw TwelveLabsErrors.http(
                settings, status: response.head.status, head: response.head, body: errorBody,
                missing: TwelveLabsProvider.missingMessage(video))
        }

        var lines = LineDecoder()
        let decoder = TwelveLabsEventDecoder(settings: settings)
        do {
            for try await chunk in response.body {
                let complete: [[UInt8]]
                do {
                    complete = try lines.feed(chunk)
                } catch {
                    throw UpstreamErrors.malformed(settings, "NDJSON lines under \(error.limit) bytes", got: error.prefix)
                }
                for line in complete {
                    // Returning before the body ends drops the iterator, which closes the transfer.
                    if let completion = try await handle(decoder.decode(line: line), output: output, logger: logger) {
                        return completion
                    }
                }
            }
        } catch let error as CurlError {
            // The connection broke mid-stream: report it as the cut it is, with what was pending.
            if error.code == 28 { throw transportError(error) }
            var failure = UpstreamErrors.truncated(settings, partial: lines.pendingBytes)
            failure.message += "; the connection failed: \(error.message)"
            throw failure
        }

        // The body ended cleanly. A last line without `\n` still counts if it is whole JSON.
        let partial = lines.pendingBytes
        if let last = lines.finish() {
            let actions: [TwelveLabsEventDecoder.Action]
            do {
                actions = try decoder.decode(line: last)
            } catch {
                // A plain catch that rethrows: Swift 6.3's SIL passes never finish on a typed-throws
                // call inside `do { } catch ... where ...` here.
                if error.code == .internal { throw UpstreamErrors.truncated(settings, partial: partial) }
                throw error
            }
            if let completion = try await handle(actions, output: output, logger: logger) { return completion }
        }
        throw UpstreamErrors.truncated(settings, partial: partial)
    }

    /// Performs the actions of one line; returns the completion once `stream_end` arrived.
    private func handle(
        _ actions: [TwelveLabsEventDecoder.Action], output: ModelOutputWriter, logger: Logger
    ) async throws -> ModelCompletion? {
        for action in actions {
            switch action {
            case .started(let generationID):
                logger.debug("TwelveLabs stream started", metadata: ["twelvelabs.generation_id": "\(generationID ?? "-")"])
            case .text(let text):
                try await output.write(text)
            case .finished(let completion, let generationID, let warning):
                var metadata: Logger.Metadata = ["finish_reason": "\(completion.finishReason)"]
                if let generationID { metadata["twelvelabs.generation_id"] = "\(generationID)" }
                // With finish_reason `length` TwelveLabs adds an `error`; the text so far is valid.
                if let warning { metadata["twelvelabs.warning"] = "\(warning)" }
                logger.debug("TwelveLabs stream ended", metadata: metadata)
                return completion
            case .ignored(let eventType):
                logger.trace("ignoring a TwelveLabs line", metadata: ["twelvelabs.event_type": "\(eventType ?? "-")"])
            }
        }
        return nil
    }

    /// A transport failure with TwelveLabs named (timeouts stay `DEADLINE_EXCEEDED`).
    func transportError(_ error: CurlError) -> ChorusError {
        var failure = error.chorusError
        failure.message = "TwelveLabs: " + failure.message
        return failure
    }

    /// Up to ``errorBodyLimit`` bytes of an error answer; a transfer that breaks meanwhile leaves
    /// what arrived (the status alone is still worth reporting).
    static func collectErrorBody(_ response: HTTPStreamingResponse) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            for try await chunk in response.body {
                bytes.append(contentsOf: chunk.prefix(errorBodyLimit - bytes.count))
                if bytes.count >= errorBodyLimit { break }
            }
        } catch is CurlError {
        }
        return bytes
    }
}
