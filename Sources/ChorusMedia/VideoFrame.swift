import Foundation

/// One still image taken from a video, ready to send to a vision model.
///
/// ```swift
/// let frames = try await library.frames(of: source, count: 8)
/// let content = frames.map { ["type": "image_url", "image_url": ["url": $0.dataURL]] }
/// ```
public struct VideoFrame: Sendable, Hashable {
    /// JPEG bytes (starting with `FF D8`).
    public var jpeg: [UInt8]
    /// Where in the video the frame was taken.
    public var time: Duration

    public init(jpeg: [UInt8], time: Duration) {
        self.jpeg = jpeg
        self.time = time
    }

    /// The frame as a `data:image/jpeg;base64,...` URL, the form OpenAI-style APIs accept inline.
    public var dataURL: String {
        "data:image/jpeg;base64," + Data(jpeg).base64EncodedString()
    }
}
