import ChorusCore
import ChorusCurl
import ChorusMedia
import Foundation
import Logging

/// Puts a local video into the Gemini Files API and waits until Google has processed it.
///
/// The resumable protocol: `start` (metadata, answers the session URL), then `upload, finalize`
/// with the bytes from disk, then `GET files/{id}` until the state is `ACTIVE`. The upload URL
/// lives at the root of the host (`/upload/v1beta/files`), not under the versioned base URL. Each
/// step is retried per the model's ``RetryPolicy`` when it fails in a retryable way (429, 5xx,
/// connection errors). An interrupted upload resumes where Google's session says it stopped
/// (`query` answers `X-Goog-Upload-Size-Received`), so a dropped connection late in a large
/// video re-sends only the rest; a session that cannot say starts over with `start`.
///
/// ```swift
/// let uploader = GeminiFileUploader(settings: settings, options: GeminiFileOptions(), logger: logger)
/// let file = try await uploader.upload(video, displayName: "clip.mp4")   // ACTIVE
/// ```
struct GeminiFileUploader: Sendable {
    let settings: UpstreamSettings
    let options: GeminiFileOptions
    let logger: Logger
    /// Deletes files that were uploaded but will not be used (nil: deleted by a task of their own).
    var janitor: UploadJanitor? = nil
    /// The model, for the janitor's logs.
    var model = "gemini"

    /// `{origin}/upload/{version}/files`, the version being the last segment of the base URL path.
    var uploadURL: String {
        let afterScheme = settings.baseURL.range(of: "://").map { settings.baseURL[$0.upperBound...] } ?? Substring(settings.baseURL)
        let path = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? ""
        let pathOnly = path.split(separator: "?").first ?? ""
        let version = pathOnly.split(separator: "/").last.map(String.init) ?? "v1beta"
        return settings.origin + "/upload/" + version + "/files"
    }

    /// Uploads `video` and returns the file once it is `ACTIVE`.
    func upload(_ video: LocalVideo, displayName: String) async throws -> GeminiFile {
        let key = try settings.requireKey()
        guard video.sizeBytes <= options.maxUploadBytes else {
            throw Self.tooLarge(displayName, size: video.sizeBytes, limit: options.maxUploadBytes)
        }
        let started = ContinuousClock.now
        let uploaded = try await sendResuming(video, displayName: displayName, key: key)
        logger.debug("gemini file uploaded", metadata: [
            "file": "\(uploaded.name)", "bytes": "\(video.sizeBytes)", "state": "\(uploaded.state)",
            "elapsed": "\(ContinuousClock.now - started)",
        ])
        do {
            return try await waitUntilActive(uploaded, displayName: displayName, key: key)
        } catch {
            // The file exists at Google, but no call will use it (processing failed or timed out,
            // or every call waiting for it was cancelled); left alone it would count against the
            // project's storage for 48 hours, unknown to any cache.
            UploadJanitor.deleteAbandoned(by: janitor, model: model) { await self.delete(uploaded) }
            throw error
        }
    }

    // MARK: - Steps

    private func startSession(displayName: String, size: Int, mimeType: String, key: APIKey) async throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["file": ["display_name": displayName]])
        let response = try await settings.http.execute(HTTPRequestSpec(
            method: "POST", url: uploadURL,
            headers: [
                ("x-goog-api-key", key.headerValue),
                ("X-Goog-Upload-Protocol", "resumable"),
                ("X-Goog-Upload-Command", "start"),
                ("X-Goog-Upload-Header-Content-Length", String(size)),
                ("X-Goog-Upload-Header-Content-Type", mimeType),
                ("Content-Type", "application/json"),
            ],
            body: Array(body), connectTimeout: settings.connectTimeout, totalTimeout: .seconds(60)))
        let answer = try await response.collectBody(limit: 64 << 10)
        guard (200..<300).contains(response.head.status) else {
            throw UpstreamErrors.http(settings, status: response.head.status, head: response.head, body: answer)
        }
        guard let url = response.head.header("x-goog-upload-url"), !url.isEmpty else {
            throw UpstreamErrors.malformed(settings, "an X-Goog-Upload-URL header in the answer to the upload start", got: answer)
        }
        return url
    }

    /// Starts a session and sends the file; after a retryable failure, asks the session how much
    /// it has and sends the rest (or starts over when it cannot say). One retry budget covers it all.
    private func sendResuming(_ video: LocalVideo, displayName: String, key: APIKey) async throws -> GeminiFile {
        // Set once a session exists: a later attempt means the previous one failed after `start`.
        var session: String?
        return try await settings.retrying("gemini file upload", logger: logger) {
            var offset = 0
            if let current = session {
                if let received = await received(by: current, key: key), (0...video.sizeBytes).contains(received) {
                    offset = received
                    logger.debug("gemini file upload resumes", metadata: ["byte": "\(offset)", "of": "\(video.sizeBytes)"])
                } else {
                    session = nil
                }
            }
            let url: String
            if let current = session {
                url = current
            } else {
                url = try await startSession(displayName: displayName, size: video.sizeBytes, mimeType: video.mimeType, key: key)
                session = url
            }
            return try await send(video, to: url, from: offset, key: key)
        }
    }

    /// Bytes the upload session has received (`X-Goog-Upload-Command: query`); nil when the
    /// session is gone, finished, or does not answer sensibly.
    private func received(by session: String, key: APIKey) async -> Int? {
        do {
            let response = try await settings.http.execute(HTTPRequestSpec(
                method: "POST", url: session, headers: sessionHeaders(session, key: key, [("X-Goog-Upload-Command", "query")]),
                body: [], connectTimeout: settings.connectTimeout, totalTimeout: .seconds(60)))
            _ = try await response.collectBody(limit: 64 << 10)
            guard (200..<300).contains(response.head.status),
                  response.head.header("x-goog-upload-status")?.lowercased() == "active" else { return nil }
            return response.head.header("x-goog-upload-size-received").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        } catch {
            return nil
        }
    }

    /// `extra` plus the key, which goes only to the configured host, never to wherever a header
    /// pointed us.
    private func sessionHeaders(_ session: String, key: APIKey, _ extra: [(name: String, value: String)]) -> [(name: String, value: String)] {
        session.hasPrefix(settings.origin + "/") ? extra + [("x-goog-api-key", key.headerValue)] : extra
    }

    /// Sends the file from `offset` in one `upload, finalize` request; curl reads it from disk as
    /// it goes, so a large video never sits in memory.
    private func send(_ video: LocalVideo, to session: String, from offset: Int, key: APIKey) async throws -> GeminiFile {
        let mimeType = video.mimeType
        let headers = sessionHeaders(session, key: key, [
            ("X-Goog-Upload-Command", "upload, finalize"),
            ("X-Goog-Upload-Offset", String(offset)),
            ("Content-Type", mimeType),
            // The session URL authorises the upload; the 100-continue round trip only adds latency.
            ("Expect", ""),
        ])
        let response = try await settings.http.execute(HTTPRequestSpec(
            method: "POST", url: session, headers: headers, bodyFile: video.path, bodyFileOffset: offset,
            connectTimeout: settings.connectTimeout, totalTimeout: UpstreamSettings.transferTimeout(bytes: video.sizeBytes - offset)))
        let answer = try await response.collectBody(limit: 1 << 20)
        guard (200..<300).contains(response.head.status) else {
            throw UpstreamErrors.http(settings, status: response.head.status, head: response.head, body: answer)
        }
        let json = try? JSONSerialization.jsonObject(with: Data(answer))
        guard let file = GeminiFile(json: json, fallbackMimeType: mimeType) else {
            throw UpstreamErrors.malformed(settings, "a {\"file\": {name, uri, state}} object after the upload", got: answer)
        }
        return file
    }

    private func waitUntilActive(_ uploaded: GeminiFile, displayName: String, key: APIKey) async throws -> GeminiFile {
        let (file, polls) = try await settings.waitForProcessing(
            uploaded, video: displayName, interval: options.pollInterval, maxWait: options.maxProcessingWait,
            step: "gemini file poll", logger: logger
        ) { file in try await poll(file, key: key) }
        logger.debug("gemini file active", metadata: ["file": "\(file.name)", "polls": "\(polls)"])
        return file
    }

    private func poll(_ file: GeminiFile, key: APIKey) async throws -> GeminiFile {
        let response = try await settings.http.execute(HTTPRequestSpec(
            method: "GET", url: settings.url(file.name), headers: [("x-goog-api-key", key.headerValue)],
            connectTimeout: settings.connectTimeout, totalTimeout: .seconds(60)))
        let answer = try await response.collectBody(limit: 1 << 20)
        guard (200..<300).contains(response.head.status) else {
            throw UpstreamErrors.http(settings, status: response.head.status, head: response.head, body: answer)
        }
        guard let polled = GeminiFile(json: try? JSONSerialization.jsonObject(with: Data(answer)), fallbackMimeType: file.mimeType) else {
            throw UpstreamErrors.malformed(settings, "a File object from files.get", got: answer)
        }
        return polled
    }

    /// Deletes a file this process uploaded (`DELETE {base}/files/{id}`, retried per the model's
    /// policy). True when it is gone: deleted now (2xx) or already (Google answers a file that no
    /// longer exists with 403 PERMISSION_DENIED, or 404). A failure is logged, not thrown.
    func delete(_ file: GeminiFile) async -> Bool {
        await settings.deleteUpload(file.name, goneStatuses: [403, 404], logger: logger) { key in
            HTTPRequestSpec(
                method: "DELETE", url: settings.url(file.name), headers: [("x-goog-api-key", key.headerValue)],
                connectTimeout: settings.connectTimeout, totalTimeout: .seconds(30))
        } failure: { [settings] status, head, body in
            UpstreamErrors.http(settings, status: status, head: head, body: body)
        }
    }

    // MARK: - Helpers

    static func tooLarge(_ name: String, size: Int, limit: Int) -> ChorusError {
        ChorusError(
            .invalidArgument,
            "the video '\(name)' is \(UpstreamSettings.mebibytes(size)); the Gemini adapter uploads videos of at most \(UpstreamSettings.mebibytes(limit))")
    }
}
