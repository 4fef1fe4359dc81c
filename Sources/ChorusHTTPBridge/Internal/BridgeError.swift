import ChorusCore
import HTTPTypes
import Hummingbird
import NIOCore

/// An error answered as plain HTTP before a stream starts: `{"error":{"code":…,"message":…}}`.
struct BridgeError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: ChorusError.Code, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code.name
        self.message = message
        self.headers = headers
    }

    /// Maps a service error to the HTTP status a client can act on. Client mistakes are 4xx,
    /// never 500.
    init(_ error: ChorusError, retryAfterSeconds: Int) {
        let status: HTTPResponse.Status
        var headers: HTTPFields = [:]
        switch error.code {
        case .invalidArgument, .failedPrecondition, .outOfRange: status = .badRequest
        case .notFound: status = .notFound
        case .alreadyExists, .aborted: status = .conflict
        case .unauthenticated: status = .unauthorized
        case .permissionDenied: status = .forbidden
        case .resourceExhausted:
            status = .tooManyRequests
            let seconds = error.retryAfter.map { max(1, Int(($0.seconds).rounded(.up))) } ?? retryAfterSeconds
            headers[.retryAfter] = String(seconds)
        case .unimplemented: status = .notImplemented
        case .unavailable: status = .serviceUnavailable
        case .deadlineExceeded: status = .gatewayTimeout
        case .cancelled: status = HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
        default: status = .internalServerError
        }
        self.init(status, error.code, error.message, headers: headers)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("error")
        writer.beginObject()
        writer.key("code")
        writer.string(code)
        writer.key("message")
        writer.string(message)
        writer.endObject()
        writer.endObject()
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
