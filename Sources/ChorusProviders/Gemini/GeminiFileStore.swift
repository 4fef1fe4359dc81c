import Foundation

/// The Gemini files this provider uploaded, by the video's content hash (see ``UploadCache``):
/// a file is reused until 15 minutes before Google deletes it (48 h after the upload when the
/// answer does not say).
///
/// ```swift
/// let store = GeminiFileStore()
/// let file = try await store.file(for: video.sha256) { try await uploader.upload(video, displayName: name) }
/// ```
typealias GeminiFileStore = UploadCache<GeminiFile>

extension UploadCache where Value == GeminiFile {
    /// - Parameter now: the wall clock (tests move it to expire files).
    convenience init(now: @escaping @Sendable () -> Date = { Date() }) {
        // An upload's own clock: a file without expirationTime gets the documented 48 h from now.
        self.init(now: now, expiry: { file in file.expirationTime ?? now().addingTimeInterval(GeminiFile.defaultLifetime) })
    }

    /// The cached file for `key`, or the result of the upload in flight for it, or of `upload`.
    func file(for key: String, upload: @escaping @Sendable () async throws -> GeminiFile) async throws -> GeminiFile {
        try await value(for: key, upload: upload)
    }

    /// Forgets `uri` (expired, or refused by `generateContent`) so that the next call uploads
    /// again; a newer upload of the same video that replaced it meanwhile is kept.
    func invalidate(key: String, uri: String) {
        invalidate(key: key) { $0.uri == uri }
    }
}
