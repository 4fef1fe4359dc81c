import Foundation
import NIOCore

/// The web page, loaded once from the package resources (plain HTML, CSS and JS; no build step).
struct StaticAssets: Sendable {
    struct Asset: Sendable {
        var contentType: String
        var body: ByteBuffer
    }

    let assets: [String: Asset]

    static func load() -> StaticAssets {
        var assets: [String: Asset] = [:]
        let files: [(path: String, name: String, ext: String, type: String)] = [
            ("/", "index", "html", "text/html; charset=utf-8"),
            ("/index.html", "index", "html", "text/html; charset=utf-8"),
            ("/app.js", "app", "js", "text/javascript; charset=utf-8"),
            ("/style.css", "style", "css", "text/css; charset=utf-8"),
        ]
        for file in files {
            guard let url = Bundle.module.url(forResource: file.name, withExtension: file.ext, subdirectory: "Resources")
                ?? Bundle.module.url(forResource: file.name, withExtension: file.ext),
                  let data = try? Data(contentsOf: url)
            else { continue }
            assets[file.path] = Asset(contentType: file.type, body: ByteBuffer(bytes: data))
        }
        return StaticAssets(assets: assets)
    }
}
