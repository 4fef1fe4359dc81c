import ChorusCore
import ChorusCurl
import ChorusMedia
import Foundation

extension OpenAIProvider {
    /// The `POST {base}/chat/completions` request for `prompt`, with `frames` as image parts.
    func makeRequest(_ prompt: ModelPrompt, frames sampled: [VideoFrame], videoName: String?, key: APIKey?) throws
        -> HTTPRequestSpec
    {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"),
            ("Accept", "text/event-stream"),
        ]
        if let key { headers.append(("Authorization", "Bearer \(key.headerValue)")) }
        return HTTPRequestSpec(
            method: "POST", url: settings.url("/chat/completions"), headers: headers,
            body: requestBody(prompt, frames: sampled, videoName: videoName),
            connectTimeout: settings.connectTimeout)
    }

    /// The JSON body: one user message whose content is the question, then (with a video) a line
    /// saying what the images are and one `image_url` part per frame.
    ///
    /// Written with ``JSONWriter`` rather than `JSONSerialization`, which took ~0.1–0.3 ms per
    /// request here: that was a third of the time Chorus added to the first token.
    func requestBody(_ prompt: ModelPrompt, frames sampled: [VideoFrame], videoName: String?) -> [UInt8] {
        var json = JSONWriter(appendingTo: [])
        json.beginObject()
        json.key("model")
        json.string(settings.upstreamModel)
        json.key("stream")
        json.bool(true)
        // Without it the stream carries no token counts at all.
        json.key("stream_options")
        json.beginObject()
        json.key("include_usage")
        json.bool(true)
        json.endObject()
        if let maxTokens = prompt.maxOutputTokens {
            // OpenAI deprecated `max_tokens` for chat models, but vLLM, Ollama and llama.cpp only
            // know that name.
            json.key(settings.provider == .openAICompatible ? "max_tokens" : "max_completion_tokens")
            json.integer(maxTokens)
        }
        if let temperature = prompt.temperature {
            json.key("temperature")
            json.number(temperature)
        }
        json.key("messages")
        json.beginArray()
        json.beginObject()
        json.key("role")
        json.string("user")
        json.key("content")
        json.beginArray()
        Self.textPart(prompt.query, into: &json)
        if !sampled.isEmpty {
            Self.textPart(OpenAIProvider.framesIntroduction(sampled, videoName: videoName), into: &json)
            for frame in sampled {
                json.beginObject()
                json.key("type")
                json.string("image_url")
                json.key("image_url")
                json.beginObject()
                json.key("url")
                json.string(frame.dataURL)
                json.key("detail")
                json.string(frames.detail)
                json.endObject()
                json.endObject()
            }
        }
        json.endArray()
        json.endObject()
        json.endArray()
        json.endObject()
        return json.bytes
    }

    private static func textPart(_ text: String, into json: inout JSONWriter) {
        json.beginObject()
        json.key("type")
        json.string("text")
        json.key("text")
        json.string(text)
        json.endObject()
    }

    /// "The next 8 images are frames sampled evenly from the video clip.mp4, in order (at 0.2s, …)."
    ///
    /// Without it the model sees unrelated pictures; with the times it can answer "when" questions.
    static func framesIntroduction(_ frames: [VideoFrame], videoName: String?) -> String {
        let times = frames.map { frame -> String in
            let seconds = Double(frame.time.components.seconds) + Double(frame.time.components.attoseconds) / 1e18
            return String(format: "%.1fs", seconds)
        }
        let video = videoName.map { "the video \($0)" } ?? "the video"
        let noun = frames.count == 1 ? "image is a frame" : "\(frames.count) images are frames"
        return "The following \(noun) sampled evenly from \(video), in chronological order "
            + "(at \(times.joined(separator: ", ")))."
    }
}
