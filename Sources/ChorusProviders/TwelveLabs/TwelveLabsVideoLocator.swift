import ChorusCore
import ChorusCurl
import Foundation
public import Logging

/// Finds the HLS stream of a video indexed at TwelveLabs, so that models which cannot read a
/// TwelveLabs video id (Gemini, GPT-4o) can still be shown the video.
///
/// `GET {base}/indexes/{index_id}/videos/{video_id}` answers the video's metadata; its
/// `hls.video_url` is usable once `hls.status` is `COMPLETE`. A relative URL is resolved against
/// the origin of the base URL. Answers are cached (``TwelveLabsStreamURLCache``: 256 pairs, 10
/// minutes) by this locator and all its copies; retryable failures are retried per
/// `settings.retry`.
///
/// ```swift
/// let locator = TwelveLabsVideoLocator(settings: twelveLabsSettings, logger: logger)
/// let url = try await locator.streamURL(indexID: "idx-1", videoID: "vid-8")   // https://…/master.m3u8
/// ```
public struct TwelveLabsVideoLocator: TwelveLabsVideoLocating {
    public let settings: UpstreamSettings
    let logger: Logger
    let cache: TwelveLabsStreamURLCache
    /// A retrieval is one small JSON answer; a minute covers a slow upstream without hanging forever.
    static let requestTimeout: Duration = .seconds(60)

    public init(settings: UpstreamSettings, logger: Logger) {
        self.init(settings: settings, logger: logger, cache: TwelveLabsStreamURLCache())
    }

    init(settings: UpstreamSettings, logger: Logger, cache: TwelveLabsStreamURLCache) {
        self.settings = settings
        self.logger = logger
        self.cache = cache
    }

    /// The HLS URL of `videoID` in `indexID`.
    ///
    /// - Throws: ``ChorusCore/ChorusError``: `NOT_FOUND` naming index_id/video_id when TwelveLabs
    ///   has no such video, `FAILED_PRECONDITION` when it has no stream (yet), `UNAUTHENTICATED`
    ///   without a key, and the mapped upstream error otherwise.
    public func streamURL(indexID: String, videoID: String) async throws -> String {
        guard !indexID.isEmpty, !videoID.isEmpty else {
            throw ChorusError(.invalidArgument, "a TwelveLabs video needs both index_id and video_id")
        }
        let cacheKey = TwelveLabsStreamURLCache.Key(indexID: indexID, videoID: videoID)
        if let url = cache.url(for: cacheKey) { return url }
        let key = try settings.requireKey()
        let url = try await settings.retrying("twelvelabs video retrieval", logger: logger) {
            try await fetchOnce(indexID: indexID, videoID: videoID, key: key)
        }
        cache.store(url, for: cacheKey)
        logger.debug(
            "found the TwelveLabs stream URL",
            metadata: ["twelvelabs.index_id": "\(indexID)", "twelvelabs.video_id": "\(videoID)"])
        return url
    }

    private func fetchOnce(indexID: String, videoID: String, key: APIKey) async throws -> String {
        let path = "/indexes/\(TwelveLabsVideoLocator.pathSegment(indexID))/videos/\(TwelveLabsVideoLocator.pathSegment(videoID))"
        let request = HTTPRequestSpec(
            method: "GET", url: settings.url(path), headers: [("x-api-key", key.headerValue), ("Accept", "application/json")],
            connectTimeout: settings.connectTimeout, totalTimeout: TwelveLabsVideoLocator.requestTimeout)
        let response: HTTPStreamingResponse
        let body: [UInt8]
        do {
            response = try await settings.http.execute(request)
            guard (200..<300).contains(response.head.status) else {
                let errorBody = try await TwelveLabsProvider.collectErrorBody(response)
                throw TwelveLabsErrors.http(
                    settings, status: response.head.status, head: response.head, body: errorBody,
                    missing: "TwelveLabs has no video with index_id '\(indexID)' and video_id '\(videoID)'")
            }
            body = try await response.collectBody(limit: 4 << 20)
        } catch let error as CurlError {
            var failure = error.chorusError
            failure.message = "TwelveLabs video retrieval: " + failure.message
            throw failure
        }
        return try streamURL(fromAnswer: body, indexID: indexID, videoID: videoID)
    }

    /// `hls.video_url` of a retrieval answer, absolute, once `hls.status` is `COMPLETE`.
    func streamURL(fromAnswer body: [UInt8], indexID: String, videoID: String) throws(ChorusError) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw UpstreamErrors.malformed(settings, "a JSON video object", got: body)
        }
        let video = "TwelveLabs video '\(videoID)' in index '\(indexID)'"
        guard let hls = object["hls"] as? [String: Any] else {
            throw ChorusError(
                .failedPrecondition,
                "the \(video) has no HLS stream (it must be indexed with enable_video_stream) so models other than "
                    + "Pegasus cannot see it; give a video_path instead")
        }
        let status = (hls["status"] as? String) ?? "missing"
        guard status.uppercased() == "COMPLETE" else {
            throw ChorusError(
                .failedPrecondition, "the TwelveLabs video is not ready for streaming (status \(status)): \(video)")
        }
        guard let url = hls["video_url"] as? String, !url.isEmpty else {
            throw UpstreamErrors.malformed(settings, "hls.video_url in the video object", got: body)
        }
        return absolute(url)
    }

    /// `url` resolved against the base URL's origin when TwelveLabs gave a path (or `//host/…`).
    func absolute(_ url: String) -> String {
        if url.hasPrefix("//") {
            let scheme = settings.origin.range(of: "://").map { String(settings.origin[..<$0.lowerBound]) } ?? "https"
            return scheme + ":" + url
        }
        if url.hasPrefix("/") { return settings.origin + url }
        return url
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters, so an id can never add a
    /// path segment, a query or a fragment (nor be a `.`/`..` segment that curl would collapse).
    static func pathSegment(_ text: String) -> String {
        if text == "." || text == ".." { return String(repeating: "%2E", count: text.count) }
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPad(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPad(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
