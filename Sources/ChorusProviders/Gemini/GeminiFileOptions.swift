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

    public init(pollInterval: Duration = .seconds(2), maxProcessingWait: Duration = .seconds(300)) {
        self.pollInterval = pollInterval
        self.maxProcessingWait = maxProcessingWait
    }
}
