import ChorusCore
import NIOCore

/// How a call's events and its ending look on the wire: SSE blocks, built once per event and
/// shared by every client attached to the call (and by resumes from the replay log).
extension BridgeCall {
    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// One event as its SSE block, `id: <seq>\ndata: <json>\n\n`, built in one array and copied
    /// once into a buffer of exactly its size: two allocations per event (there were four or
    /// five: an interpolated string, a JSON array, a growing buffer).
    static func encode(_ event: AnalyzeEvent) -> ByteBuffer {
        var block: [UInt8] = []
        block.reserveCapacity(192)
        block.append(contentsOf: "id: ".utf8)
        JSONWriter.appendDecimal(event.seq, to: &block)
        block.append(contentsOf: "\ndata: ".utf8)
        event.appendJSON(into: &block)
        block.append(contentsOf: "\n\n".utf8)
        return ByteBuffer(bytes: block)
    }

    /// What follows a call's last event: a call-level error event if it failed, then `[DONE]`.
    static func ending(_ outcome: Outcome) -> [ByteBuffer] {
        switch outcome {
        case .completed: return [done]
        case .failed(let error): return [errorEvent(error), done]
        }
    }

    /// A call-level error event: no `model` field (the contract's marker for "the call failed").
    static func errorEvent(_ error: ChorusError) -> ByteBuffer {
        var json: [UInt8] = []
        error.appendJSONEvent(into: &json)
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(json)
        buffer.writeString("\n\n")
        return buffer
    }
}
