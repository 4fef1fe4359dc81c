/// How the Gemini adapter waits for an uploaded video to become usable.
///
/// After an upload the Files API reports the file as `PROCESSING` until Google has decoded it;
/// only an `ACTIVE` file may be referenced in a prompt. The adapter polls the file every
/// ``pollInterval`` and gives up (`DEADLINE_EXCEEDED`) after ``maxProcessingWait``.
///
/// ```swift
/// let provider = GeminiProvider(
///     settings: settings, video: inputs,
///     files: GeminiFileOptions(pollInterval: .seconds(1), maxProcessingWait: .seconds(120)),
///     logger: logger)
/// ```
public struct GeminiFileOptions: Sendable, Hashable {
    /// Pause between two `GET files/{id}` polls.
    public var pollInterval: Duration = .seconds(2)
    /// Longest time a video may stay `PROCESSING` before the call fails.
    public var maxProcessingWait: Duration = .seconds(300)
    /// Largest video the adapter uploads: the Files API's 2 GB per file. The upload streams from
    /// disk, so the size costs no memory.
    public var maxUploadBytes: Int = 2_000_000_000
    /// A file no question has asked for during this long, and none is using, is deleted
    /// (`DELETE files/{id}`); nil (the default) leaves it to Google, which deletes it 48 h after
    /// the upload.
    public var keepUnused: Duration?
    /// Whether the files still held are deleted when the server stops: nothing would use them
    /// again (the cache of uploads lives in memory), and until Google deletes them they count
    /// against the project's Files API storage.
    public var deleteOnExit: Bool = true

    public init(
        pollInterval: Duration = .seconds(2), maxProcessingWait: Duration = .seconds(300),
        keepUnused: Duration? = nil, deleteOnExit: Bool = true
    ) {
        self.pollInterval = pollInterval
        self.maxProcessingWait = maxProcessingWait
        self.keepUnused = keepUnused
        self.deleteOnExit = deleteOnExit
    }
}
