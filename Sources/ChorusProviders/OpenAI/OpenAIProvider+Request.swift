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
        let body = try JSONSerialization.data(
            withJSONObject: requestBody(prompt, frames: sampled, videoName: videoName),
            options: [.withoutEscapingSlashes])
        return HTTPRequestSpec(
            method: "POST", url: settings.url("/chat/completions"), headers: headers, body: Array(body),
            connectTimeout: settings.connectTimeout)
    }

    /// The JSON body: one user message whose content is the question, then (with a video) a line
    /// saying what the images are and one `image_url` part per frame.
    func requestBody(_ prompt: ModelPrompt, frames sampled: [VideoFrame], videoName: String?) -> [String: Any] {
        var content: [[String: Any]] = [["type": "text", "text": prompt.query]]
        if !sampled.isEmpty {
            content.append(["type": "text", "text": OpenAIProvider.framesIntroduction(sampled, videoName: videoName)])
            for frame in sampled {
                content.append([
                    "type": "image_url",
                    "image_url": ["url": frame.dataURL, "detail": frames.detail],
                ])
            }
        }
        var body: [String: Any] = [
            "model": settings.upstreamModel,
            "stream": true,
            // Without it the stream carries no token counts at all.
            "stream_options": ["include_usage": true],
            "messages": [["role": "user", "content": content]],
        ]
        if let maxTokens = prompt.maxOutputTokens {
            // OpenAI deprecated `max_tokens` for chat models, but vLLM, Ollama and llama.cpp only
            // know that name.
            body[settings.provider == .openAICompatible ? "max_tokens" : "max_completion_tokens"] = maxTokens
        }
        if let temperature = prompt.temperature { body["temperature"] = temperature }
        return body
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
