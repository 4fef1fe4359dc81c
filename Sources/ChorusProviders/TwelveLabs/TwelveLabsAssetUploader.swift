import ChorusCore
import ChorusCurl
import ChorusMedia
import Foundation
import Logging

/// Uploads a local video to TwelveLabs as an asset and waits until it is `ready`.
///
/// `POST {base}/assets` as `multipart/form-data` (`method=direct`, `file`, `filename`; curl
/// streams the file from disk), then `GET {base}/assets/{id}` until the status is `ready`. Each
/// step is retried per the model's ``RetryPolicy`` when it fails in a retryable way (429, 5xx,
/// connection errors); a `failed` asset is reported with TwelveLabs' reason.
///
/// ```swift
/// let uploader = TwelveLabsAssetUploader(settings: settings, options: TwelveLabsAssetOptions(), logger: logger)
/// let asset = try await uploader.upload(video, displayName: "match.mp4")   // ready
/// ```
struct TwelveLabsAssetUploader: Sendable {
    let settings: UpstreamSettings
    let options: TwelveLabsAssetOptions
    let logger: Logger
    /// Deletes assets that were created but will not be used (nil: deleted by a task of their own).
    var janitor: UploadJanitor? = nil
    /// The model, for the janitor's logs.
    var model = "twelvelabs"

    /// Uploads `video` and returns the asset once it is `ready`.
    func upload(_ video: LocalVideo, displayName: String) async throws -> TwelveLabsAsset {
        let key = try settings.requireKey()
        let started = ContinuousClock.now
        let created = try await settings.retrying("twelvelabs asset upload", logger: logger) {
            try await create(video, displayName: displayName, key: key)
        }
        logger.debug("twelvelabs asset uploaded", metadata: [
            "asset": "\(created.id)", "bytes": "\(video.sizeBytes)", "status": "\(created.status)",
            "elapsed": "\(ContinuousClock.now - started)",
        ])
        do {
            return try await waitUntilReady(created, displayName: displayName, key: key)
        } catch {
            // The asset exists, but no call will use it (processing failed or timed out, or every
            // call waiting for it was cancelled); TwelveLabs keeps an asset until it is deleted,
            // and no cache knows this one.
            UploadJanitor.deleteAbandoned(by: janitor, model: model) { await self.delete(created) }
            throw error
        }
    }

    private func create(_ video: LocalVideo, displayName: String, key: APIKey) async throws -> TwelveLabsAsset {
        let request = HTTPRequestSpec(
            method: "POST", url: settings.url("/assets"),
            headers: [
                ("x-api-key", key.headerValue), ("Accept", "application/json"),
                // The key authorises the upload; the 100-continue round trip only adds latency.
                ("Expect", ""),
            ],
            multipart: [
                .field(name: "method", value: "direct"),
                .field(name: "filename", value: displayName),
                .file(name: "file", path: video.path, filename: displayName, contentType: video.mimeType),
            ],
            connectTimeout: settings.connectTimeout, totalTimeout: UpstreamSettings.transferTimeout(bytes: video.sizeBytes))
        return try await exchange(request, expecting: "an Asset object after the upload", video: displayName)
    }

    private func waitUntilReady(_ created: TwelveLabsAsset, displayName: String, key: APIKey) async throws -> TwelveLabsAsset {
        let (asset, polls) = try await settings.waitForProcessing(
            created, video: displayName, interval: options.pollInterval, maxWait: options.maxProcessingWait,
            step: "twelvelabs asset poll", logger: logger
        ) { asset in
            try await exchange(
                HTTPRequestSpec(
                    method: "GET", url: settings.url("/assets/\(TwelveLabsVideoLocator.pathSegment(asset.id))"),
                    headers: [("x-api-key", key.headerValue), ("Accept", "application/json")],
                    connectTimeout: settings.connectTimeout, totalTimeout: .seconds(60)),
                expecting: "an Asset object from the asset retrieval", video: displayName)
        }
        logger.debug("twelvelabs asset ready", metadata: ["asset": "\(asset.id)", "polls": "\(polls)"])
        return asset
    }

    /// Deletes an asset this process uploaded (`DELETE {base}/assets/{id}`, retried per the model's
    /// policy). True when it is gone: deleted now (2xx) or already (404). A failure is logged, not
    /// thrown: nobody is waiting for it.
    func delete(_ asset: TwelveLabsAsset) async -> Bool {
        await settings.deleteUpload("asset \(asset.id)", goneStatuses: [404], logger: logger) { key in
            HTTPRequestSpec(
                method: "DELETE", url: settings.url("/assets/\(TwelveLabsVideoLocator.pathSegment(asset.id))"),
                headers: [("x-api-key", key.headerValue), ("Accept", "application/json")],
                connectTimeout: settings.connectTimeout, totalTimeout: .seconds(30))
        } failure: { [settings] status, head, body in
            TwelveLabsErrors.http(settings, status: status, head: head, body: body, missing: "TwelveLabs has no asset \(asset.id)")
        }
    }

    /// Sends `request` and parses the Asset it answers; HTTP errors map as TwelveLabs' do.
    private func exchange(_ request: HTTPRequestSpec, expecting: String, video: String) async throws -> TwelveLabsAsset {
        do {
            let response = try await settings.http.execute(request)
            let answer = try await response.collectBody(limit: 1 << 20)
            guard (200..<300).contains(response.head.status) else {
                throw TwelveLabsErrors.http(
                    settings, status: response.head.status, head: response.head, body: answer,
                    missing: "TwelveLabs has no asset for the video '\(video)'")
            }
            guard let asset = TwelveLabsAsset(json: try? JSONSerialization.jsonObject(with: Data(answer))) else {
                throw UpstreamErrors.malformed(settings, expecting, got: answer)
            }
            return asset
        } catch let error as CurlError {
            var failure = error.chorusError
            failure.message = "TwelveLabs asset upload: " + failure.message
            throw failure
        }
    }
}
