import Foundation

/// A file stored by the Gemini Files API, as `files.get` and the upload's final response describe it.
///
/// ```swift
/// let file = GeminiFile(json: ["name": "files/abc", "uri": "https://…/v1beta/files/abc", "state": "ACTIVE"])
/// ```
struct GeminiFile: Sendable, Hashable {
    /// Resource name, `files/{id}`; `GET {base}/{name}` polls it.
    var name: String
    /// What a prompt's `file_data.file_uri` names.
    var uri: String
    var mimeType: String
    /// `PROCESSING`, `ACTIVE`, `FAILED` (or `STATE_UNSPECIFIED`).
    var state: String
    /// When Google deletes the file (48 h after the upload); nil when the answer did not say.
    var expirationTime: Date?
    /// `error.message` of a `FAILED` file.
    var errorMessage: String?

    /// How long an upload is kept when the answer gives no `expirationTime` (the documented 48 h).
    static let defaultLifetime: TimeInterval = 48 * 3600

    /// Parses a bare File object, or one wrapped as `{"file": {...}}` (the upload's answer).
    init?(json: Any?, fallbackMimeType: String = "video/mp4") {
        guard var object = json as? [String: Any] else { return nil }
        if let inner = object["file"] as? [String: Any] { object = inner }
        guard let name = object["name"] as? String, let uri = object["uri"] as? String else { return nil }
        self.name = name
        self.uri = uri
        self.mimeType = (object["mimeType"] as? String) ?? fallbackMimeType
        self.state = (object["state"] as? String) ?? "STATE_UNSPECIFIED"
        self.expirationTime = (object["expirationTime"] as? String).flatMap(GeminiFile.parseTimestamp)
        self.errorMessage = (object["error"] as? [String: Any])?["message"] as? String
    }

    init(name: String, uri: String, mimeType: String, state: String, expirationTime: Date? = nil) {
        self.name = name
        self.uri = uri
        self.mimeType = mimeType
        self.state = state
        self.expirationTime = expirationTime
    }

    /// The id after `files/`; Gemini quotes it in errors about the file.
    var id: String {
        name.hasPrefix("files/") ? String(name.dropFirst("files/".count)) : name
    }

    /// An RFC 3339 timestamp as the Files API writes it (`2026-08-21T10:00:00.123456Z`, any number
    /// of fraction digits, `Z` or a numeric offset).
    static func parseTimestamp(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            let start = index
            index += 1
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            fraction = Double(String(decoding: bytes[start..<index], as: UTF8.self)) ?? 0
        }
        var offset = 0
        let zone = bytes[index...]
        if zone.elementsEqual("Z".utf8) || zone.elementsEqual("z".utf8) {
            offset = 0
        } else if zone.count == 6, let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6) {
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = calendar.date(from: components) else { return nil }
        return date.addingTimeInterval(fraction - TimeInterval(offset))
    }
}

extension GeminiFile: ProviderUpload {
    var processing: UploadProcessing {
        switch state {
        case "ACTIVE": .ready
        case "FAILED": .failed
        default: .processing
        }
    }

    var uploadLabel: String { name }
    var failureReason: String? { errorMessage }
}
