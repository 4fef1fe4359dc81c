import Foundation

/// A file uploaded to TwelveLabs as a reusable asset (`POST /assets`, `GET /assets/{id}`), which
/// `/analyze` takes as `video: {"type": "asset_id", "asset_id": …}`.
///
/// ```swift
/// let asset = TwelveLabsAsset(json: ["_id": "6659…", "status": "processing"])
/// ```
struct TwelveLabsAsset: Sendable, Hashable {
    /// `_id`.
    var id: String
    /// `processing` (not usable yet), `ready`, or `failed`.
    var status: String
    /// `error.message` of a `failed` asset.
    var errorMessage: String?

    /// Parses an Asset or AssetDetail object; nil when it has no `_id`.
    init?(json: Any?) {
        guard let object = json as? [String: Any], let id = object["_id"] as? String, !id.isEmpty else { return nil }
        self.id = id
        self.status = (object["status"] as? String)?.lowercased() ?? "processing"
        let error = object["error"]
        self.errorMessage = (error as? [String: Any])?["message"] as? String ?? error as? String
    }

    init(id: String, status: String, errorMessage: String? = nil) {
        self.id = id
        self.status = status
        self.errorMessage = errorMessage
    }
}

extension TwelveLabsAsset: ProviderUpload {
    var processing: UploadProcessing {
        switch status {
        case "ready": .ready
        case "failed": .failed
        default: .processing
        }
    }

    var uploadLabel: String { "asset \(id)" }
    var failureReason: String? { errorMessage }
}

/// How the TwelveLabs adapter uploads local videos that are too large to send inline.
///
/// A video of at most ``TwelveLabsProvider/defaultMaxInlineVideoBytes`` goes inline with its
/// question; a larger one (up to ``maxUploadBytes``, TwelveLabs' 200 MB for local video files) is
/// uploaded once as an asset, polled every ``pollInterval`` until it is `ready` (at most
/// ``maxProcessingWait``), and reused for every later question about the same content.
///
/// ```swift
/// let pegasus = TwelveLabsProvider(settings: settings, video: inputs,
///                                  assets: TwelveLabsAssetOptions(pollInterval: .seconds(1)), logger: logger)
/// ```
public struct TwelveLabsAssetOptions: Sendable, Hashable {
    /// Pause between two `GET /assets/{id}` polls.
    public var pollInterval: Duration
    /// Longest time an asset may stay `processing` before the call fails.
    public var maxProcessingWait: Duration
    /// Largest local video uploaded (the file streams from disk, so its size costs no memory).
    public var maxUploadBytes: Int

    /// An asset no question has asked for during this long, and none is using, is deleted
    /// (`DELETE /assets/{id}`); nil keeps it until the server stops.
    public var keepUnused: Duration?
    /// Whether the assets still held are deleted when the server stops: nothing would use them
    /// again (the cache of uploads lives in memory), and TwelveLabs keeps them until deleted.
    public var deleteOnExit: Bool

    /// TwelveLabs' limit for local video files uploaded as assets.
    public static let defaultMaxUploadBytes = 200_000_000
    /// One hour.
    public static let defaultKeepUnused = Duration.seconds(3_600)

    public init(
        pollInterval: Duration = .seconds(2), maxProcessingWait: Duration = .seconds(300),
        maxUploadBytes: Int = TwelveLabsAssetOptions.defaultMaxUploadBytes,
        keepUnused: Duration? = TwelveLabsAssetOptions.defaultKeepUnused, deleteOnExit: Bool = true
    ) {
        self.pollInterval = pollInterval
        self.maxProcessingWait = maxProcessingWait
        self.maxUploadBytes = maxUploadBytes
        self.keepUnused = keepUnused
        self.deleteOnExit = deleteOnExit
    }
}
