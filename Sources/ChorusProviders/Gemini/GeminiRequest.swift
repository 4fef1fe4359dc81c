import ChorusCore
import Foundation

/// The JSON body of `models/{model}:streamGenerateContent`: one user turn holding the video
/// reference (when there is one) followed by the question, as Google recommends for video prompts.
///
/// ```swift
/// let body = try GeminiRequest(prompt: prompt, file: uploaded).encoded()
/// ```
struct GeminiRequest: Encodable {
    struct Content: Encodable {
        var role = "user"
        var parts: [Part]
    }

    /// A part is either text or a file reference; nil fields are left out of the JSON.
    struct Part: Encodable {
        var text: String?
        var fileData: FileData?

        enum CodingKeys: String, CodingKey {
            case text
            case fileData = "file_data"
        }
    }

    struct FileData: Encodable {
        var mimeType: String
        var fileURI: String

        enum CodingKeys: String, CodingKey {
            case mimeType = "mime_type"
            case fileURI = "file_uri"
        }
    }

    struct GenerationConfig: Encodable {
        var maxOutputTokens: Int?
        var temperature: Double?
    }

    var contents: [Content]
    var generationConfig: GenerationConfig?

    init(prompt: ModelPrompt, file: GeminiFile?) {
        var parts: [Part] = []
        if let file {
            parts.append(Part(fileData: FileData(mimeType: file.mimeType, fileURI: file.uri)))
        }
        parts.append(Part(text: prompt.query))
        contents = [Content(parts: parts)]
        if prompt.maxOutputTokens != nil || prompt.temperature != nil {
            generationConfig = GenerationConfig(maxOutputTokens: prompt.maxOutputTokens, temperature: prompt.temperature)
        }
    }

    func encoded() throws(ChorusError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self))
        } catch {
            throw ChorusError(.internal, "cannot encode the Gemini request: \(error)")
        }
    }
}
