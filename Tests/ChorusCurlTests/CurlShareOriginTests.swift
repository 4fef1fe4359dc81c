@testable import ChorusCurl
import Testing

@Suite("CurlShare.origin (pool key)")
struct CurlShareOriginTests {
    @Test("scheme, host and port, with defaults, userinfo, IPv6 and paths", arguments: [
        ("http://127.0.0.1:8080/v1/chat/completions", "http://127.0.0.1:8080"),
        ("https://API.openai.com/v1/chat/completions", "https://api.openai.com:443"),
        ("HTTP://example.com?x=1", "http://example.com:80"),
        ("https://user:secret@host.example:8443/path#frag", "https://host.example:8443"),
        ("http://[::1]:9000/v1", "http://[::1]:9000"),
        ("https://[2001:db8::1]/v1", "https://[2001:db8::1]:443"),
        ("not a url", "not a url"),
    ])
    func origin(url: String, expected: String) {
        #expect(CurlShare.origin(of: url) == expected)
    }
}
