/// How many still frames of a video the OpenAI adapter sends, and how large.
///
/// Chat Completions has no video input, so the adapter samples `count` frames evenly across the
/// clip (the OpenAI cookbook's approach) and sends them as `image_url` parts. At `detail: "low"`
/// each frame costs a flat 85 input tokens, which keeps a question about a long clip cheap and
/// well inside the tokens-per-minute limit; `maxWidth` 512 matches the 512×512 view the model gets
/// at that detail, so larger frames would only cost upload bytes.
///
/// ```swift
/// let provider = OpenAIProvider(settings: settings, video: inputs, frames: FrameSampling(count: 12, detail: "auto"), logger: logger)
/// ```
public struct FrameSampling: Sendable, Hashable {
    /// Frames per request, sampled evenly from start to end.
    public var count: Int = 8
    /// Frames wider than this are scaled down (aspect ratio kept).
    public var maxWidth: Int = 512
    /// OpenAI's image `detail`: `low`, `high` or `auto`.
    public var detail: String = "low"

    public init(count: Int = 8, maxWidth: Int = 512, detail: String = "low") {
        self.count = count
        self.maxWidth = maxWidth
        self.detail = detail
    }
}
