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

        var body = TwelveLabsBodyParser(settings: settings, logger: logger)
        do {
            // Once `stream_end` arrived the relay ends the transfer.
            if try await UpstreamRelay.relay(response.body, through: &body, to: output), let completion = body.completion {
                return completion
            }
        } catch let error as CurlError {
            // The connection broke mid-stream: report it as the cut it is, with what was pending.
            if error.code == 28 { throw transportError(error) }
            var failure = UpstreamErrors.truncated(settings, partial: body.pendingBytes)
            failure.message += "; the connection failed: \(error.message)"
            throw failure
        }

        // The body ended cleanly. A last line without `\n` still counts if it is whole JSON.
        let partial = body.pendingBytes
        var texts: [String] = []
        let complete: Bool
        do {
            complete = try body.finish(into: &texts)
        } catch {
            // A plain catch that rethrows: Swift 6.3's SIL passes never finish on a typed-throws
            // call inside `do { } catch ... where ...` here.
            if error.code == .internal { throw UpstreamErrors.truncated(settings, partial: partial) }
            throw error
        }
        for text in texts { try await output.write(text) }
        if complete, let completion = body.completion { return completion }
        throw UpstreamErrors.truncated(settings, partial: partial)
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

/// A TwelveLabs analyze body: NDJSON events (`stream_start`, `text_generation`, `stream_end`).
struct TwelveLabsBodyParser: UpstreamBodyParser {
    let settings: UpstreamSettings
    let logger: Logger
    private let decoder: TwelveLabsEventDecoder
    private var lines = LineDecoder()
    /// Set by `stream_end`.
    private(set) var completion: ModelCompletion?

    init(settings: UpstreamSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.decoder = TwelveLabsEventDecoder(settings: settings)
    }

    /// The bytes of an unfinished line.
    var pendingBytes: [UInt8] { lines.pendingBytes }

    mutating func feed(_ chunk: [UInt8], into texts: inout [String]) throws -> Bool {
        let complete: [[UInt8]]
        do {
            complete = try lines.feed(chunk)
        } catch {
            throw UpstreamErrors.malformed(settings, "NDJSON lines under \(error.limit) bytes", got: error.prefix)
        }
        for line in complete {
            if try apply(decoder.decode(line: line), into: &texts) { return true }
        }
        return false
    }

    /// Once the body ended: the last line, when it lacks its `\n`. True when it was `stream_end`.
    mutating func finish(into texts: inout [String]) throws(ChorusError) -> Bool {
        guard let last = lines.finish() else { return false }
        return try apply(decoder.decode(line: last), into: &texts)
    }

    /// Performs the actions of one line; true once `stream_end` arrived.
    private mutating func apply(_ actions: [TwelveLabsEventDecoder.Action], into texts: inout [String]) -> Bool {
        for action in actions {
            switch action {
            case .started(let generationID):
                logger.debug("TwelveLabs stream started", metadata: ["twelvelabs.generation_id": "\(generationID ?? "-")"])
            case .text(let text):
                texts.append(text)
            case .finished(let completion, let generationID, let warning):
                var metadata: Logger.Metadata = ["finish_reason": "\(completion.finishReason)"]
                if let generationID { metadata["twelvelabs.generation_id"] = "\(generationID)" }
                // With finish_reason `length` TwelveLabs adds an `error`; the text so far is valid.
                if let warning { metadata["twelvelabs.warning"] = "\(warning)" }
                logger.debug("TwelveLabs stream ended", metadata: metadata)
                self.completion = completion
                return true
            case .ignored(let eventType):
                logger.trace("ignoring a TwelveLabs line", metadata: ["twelvelabs.event_type": "\(eventType ?? "-")"])
            }
        }
        return false
    }
}
