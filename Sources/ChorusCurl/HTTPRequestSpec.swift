/// An upstream HTTP request for ``CurlHTTPClient``.
public struct HTTPRequestSpec: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// A file sent as the body, read by curl as it sends (large uploads never sit in memory).
    /// Takes precedence over ``body``.
    public var bodyFile: String?
    /// Where in ``bodyFile`` the body starts (resuming an upload the server has part of).
    public var bodyFileOffset: Int
    /// A `multipart/form-data` body, encoded by curl (which sets the Content-Type and its
    /// boundary); file parts are read as they are sent. Takes precedence over ``bodyFile`` and
    /// ``body``.
    public var multipart: [MultipartPart]?
    /// Time allowed to establish the connection (TCP + TLS).
    public var connectTimeout: Duration
    /// Time allowed for the whole transfer; nil for no limit (streams are bounded by the caller's clocks).
    public var totalTimeout: Duration?

    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        bodyFile: String? = nil,
        bodyFileOffset: Int = 0,
        multipart: [MultipartPart]? = nil,
        connectTimeout: Duration = .seconds(10),
        totalTimeout: Duration? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.bodyFile = bodyFile
        self.bodyFileOffset = bodyFileOffset
        self.multipart = multipart
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }
}

/// One part of a `multipart/form-data` body (``HTTPRequestSpec/multipart``).
///
/// ```swift
/// let parts: [MultipartPart] = [
///     .field(name: "method", value: "direct"),
///     .file(name: "file", path: "/srv/videos/match.mp4", filename: "match.mp4", contentType: "video/mp4"),
/// ]
/// ```
public enum MultipartPart: Sendable, Hashable {
    /// A text field.
    case field(name: String, value: String)
    /// A file's contents, read from `path` while the request is sent.
    case file(name: String, path: String, filename: String, contentType: String)
}

/// Status and headers of a response whose body is still streaming.
public struct HTTPResponseHead: Sendable, Hashable {
    public var status: Int
    /// Header names lowercased, in arrival order.
    public var headers: [HTTPHeader]

    public init(status: Int, headers: [HTTPHeader]) {
        self.status = status
        self.headers = headers
    }

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first(where: { $0.name == lowered })?.value
    }
}

public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
