import ChorusCore
import HTTPTypes
import Hummingbird

/// CORS with an explicit allow-list. With an empty list only same-origin requests get through
/// (a browser sends `Origin` even for same-origin POSTs, so the origin is compared with `Host`).
struct CORSPolicy<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: [String]

    // `@concurrent`, as Hummingbird's `MiddlewareProtocol` declares it (its module runs without nonsending by default).
    @concurrent func handle(_ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        let allowed = isAllowed(origin: origin, host: request.head.authority)
        if request.method == .options {
            guard allowed else {
                throw BridgeError(.forbidden, .permissionDenied, "origin '\(origin)' is not allowed; configure it with --allow-origin")
            }
            var headers = corsHeaders(origin: origin)
            headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
            headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "Content-Type, Last-Event-ID"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as BridgeError {
            response = try error.response(from: request, context: context)
        }
        if allowed {
            for field in corsHeaders(origin: origin) { response.headers[field.name] = field.value }
        }
        return response
    }

    private func corsHeaders(origin: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.accessControlAllowOrigin] = origin
        headers[.vary] = "Origin"
        headers[.accessControlExposeHeaders] = "Retry-After"
        return headers
    }

    func isAllowed(origin: String, host: String?) -> Bool {
        if allowedOrigins.contains("*") || allowedOrigins.contains(origin) { return true }
        guard let host else { return false }
        // Same origin: the Origin's authority equals the Host the request was sent to.
        for scheme in ["http://", "https://"] where origin.hasPrefix(scheme) {
            return origin.dropFirst(scheme.count) == host
        }
        return false
    }
}
