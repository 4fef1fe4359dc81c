public import ChorusCore
public import ChorusMedia

/// Finds a TwelveLabs video's stream URL (`GET /indexes/{index}/videos/{video}` → `hls.video_url`).
public protocol TwelveLabsVideoLocating: Sendable {
    func streamURL(indexID: String, videoID: String) async throws -> String
}

/// How the models that look at pixels themselves (GPT-4o frames, Gemini uploads) get the video a
/// request names: a file under the media root (`video_path`), or a TwelveLabs video
/// (`index_id` + `video_id`) fetched through its stream URL. Shared by every adapter of a server so
/// frame sampling and downloads are cached once per video.
///
/// ```swift
/// let inputs = VideoInputs(mediaRoot: try MediaRoot(path: "/srv/videos"), library: VideoLibrary(logger: logger))
/// if let source = try await inputs.source(for: prompt.video, model: prompt.model) {
///     let frames = try await inputs.library.frames(of: source, count: 8)
/// }
/// ```
public struct VideoInputs: Sendable {
    public var mediaRoot: MediaRoot?
    public var library: VideoLibrary
    public var locator: (any TwelveLabsVideoLocating)?

    public init(mediaRoot: MediaRoot?, library: VideoLibrary, locator: (any TwelveLabsVideoLocating)? = nil) {
        self.mediaRoot = mediaRoot
        self.library = library
        self.locator = locator
    }

    /// The video `video` names, or nil when the request names none (the model answers from text).
    ///
    /// - Throws: ``ChorusCore/ChorusError`` saying exactly why `model` cannot see the video:
    ///   `INVALID_ARGUMENT` for a bad `video_path`, `FAILED_PRECONDITION` when what the request gave
    ///   is not enough for this model (e.g. a `video_id` without `index_id`, or no TwelveLabs key to
    ///   fetch it with).
    public func source(for video: VideoReference, model: String) async throws -> VideoSource? {
        if let path = video.videoPath {
            guard let mediaRoot else {
                throw ChorusError(
                    .invalidArgument,
                    "video_path is not accepted: this server has no media root (start chorusd with --media-root DIR)")
            }
            return .file(path: try mediaRoot.resolve(path))
        }
        switch (video.indexID, video.videoID) {
        case (let indexID?, let videoID?):
            guard let locator else {
                throw ChorusError(
                    .failedPrecondition,
                    "\(model) cannot see the video: index_id/video_id name a TwelveLabs video, and fetching it needs TwelveLabs access on the server (set TWELVELABS_API_KEY), or send video_path instead"
                )
            }
            let url = try await locator.streamURL(indexID: indexID, videoID: videoID)
            return .remote(url: url, cacheKey: "twelvelabs:\(indexID)/\(videoID)")
        case (nil, _?):
            throw ChorusError(
                .failedPrecondition,
                "\(model) cannot see the video: video_id alone is only enough for pegasus; send index_id too (to fetch the video from TwelveLabs) or video_path"
            )
        case (_?, nil):
            throw ChorusError(
                .failedPrecondition, "\(model) cannot see the video: index_id was given without video_id")
        case (nil, nil):
            return nil
        }
    }
}
