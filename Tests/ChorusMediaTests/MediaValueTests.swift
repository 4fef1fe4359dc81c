import ChorusMedia
import Testing

@Suite("Media value types")
struct MediaValueTests {
    @Test func displayNameNeverShowsTheServerPath() {
        #expect(VideoSource.file(path: "/srv/media/clips/cat.mp4").displayName == "cat.mp4")
        #expect(VideoSource.remote(url: "https://cdn/x.m3u8?sig=1", cacheKey: "twelvelabs:i/v").displayName == "twelvelabs:i/v")
    }

    @Test(arguments: [
        ("a.mp4", "video/mp4"), ("A.MOV", "video/quicktime"), ("x.webm", "video/webm"),
        ("x.mkv", "video/x-matroska"), ("x.avi", "video/x-msvideo"), ("x.mpeg", "video/mpeg"),
        ("x.mpg", "video/mpeg"), ("x.unknown", "video/mp4"), ("noextension", "video/mp4"),
        ("/dir.with.dots/file", "video/mp4"),
    ])
    func mimeTypeFromExtension(name: String, mime: String) {
        #expect(LocalVideo.mimeType(forPath: name) == mime)
    }

    @Test func dataURLIsBase64JPEG() {
        let frame = VideoFrame(jpeg: [0xFF, 0xD8, 0xFF, 0xD9], time: .seconds(1))
        #expect(frame.dataURL == "data:image/jpeg;base64,/9j/2Q==")
    }
}
