public import ChorusCore
internal import CChorusProtobufC
internal import CChorusWireProto
public import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension AnalyzeEvent: WireMessage {
    public func encode(into buffer: inout ByteBuffer) {
        var event = Chorus__V1__AnalyzeEvent()
        chorus__v1__analyze_event__init(&event)
        event.seq = seq
        event.timestamp_micros = timestampMicros
        if case .textGeneration(let chunk) = payload {
            // The hot path: no heap allocation, the C struct borrows the Swift strings' UTF-8.
            Self.encodeText(chunk, event: &event, into: &buffer)
            return
        }
        let arena = CArena()
        switch payload {
        case .start(let start):
            var m = Chorus__V1__StreamStart()
            chorus__v1__stream_start__init(&m)
            m.n_models = start.models.count
            m.models = arena.strings(start.models)
            m.recommended = start.recommended.protobufC
            m.request_id = arena.string(start.requestID)
            event.payload_case = CHORUS__V1__ANALYZE_EVENT__PAYLOAD_START
            event.start = arena.box(m)
        case .modelStart(let start):
            var m = Chorus__V1__ModelStart()
            chorus__v1__model_start__init(&m)
            m.model = arena.string(start.model)
            m.provider = arena.string(start.provider)
            event.payload_case = CHORUS__V1__ANALYZE_EVENT__PAYLOAD_MODEL_START
            event.model_start = arena.box(m)
        case .textGeneration:
            preconditionFailure("handled above")
        case .modelEnd(let end):
            var stats = Chorus__V1__ModelStats()
            chorus__v1__model_stats__init(&stats)
            stats.time_to_first_token_micros = end.stats.timeToFirstToken.microseconds
            stats.duration_micros = end.stats.duration.microseconds
            stats.characters = UInt64(end.stats.characters)
            stats.words = UInt64(end.stats.words)
            stats.average_word_length = end.stats.averageWordLength
            stats.output_tokens = UInt64(end.stats.outputTokens ?? 0)
            stats.has_output_tokens = (end.stats.outputTokens != nil).protobufC
            stats.tokens_per_second = end.stats.tokensPerSecond
            stats.finish_reason = arena.string(end.stats.finishReason)
            stats.cached = end.stats.cached.protobufC
            var m = Chorus__V1__ModelEnd()
            chorus__v1__model_end__init(&m)
            m.model = arena.string(end.model)
            m.stats = arena.box(stats)
            event.payload_case = CHORUS__V1__ANALYZE_EVENT__PAYLOAD_MODEL_END
            event.model_end = arena.box(m)
        case .error(let error):
            var m = Chorus__V1__ModelError()
            chorus__v1__model_error__init(&m)
            m.model = arena.string(error.model)
            m.code = error.code.rawValue
            m.message = arena.string(error.message)
            m.retryable = error.retryable.protobufC
            m.retry_after_micros = error.retryAfter?.microseconds ?? 0
            event.payload_case = CHORUS__V1__ANALYZE_EVENT__PAYLOAD_ERROR
            event.error = arena.box(m)
        case .complete(let complete):
            var m = Chorus__V1__StreamComplete()
            chorus__v1__stream_complete__init(&m)
            m.n_succeeded = complete.succeeded.count
            m.succeeded = arena.strings(complete.succeeded)
            m.n_failed = complete.failed.count
            m.failed = arena.strings(complete.failed)
            m.duration_micros = complete.duration.microseconds
            m.request_id = arena.string(complete.requestID)
            event.payload_case = CHORUS__V1__ANALYZE_EVENT__PAYLOAD_COMPLETE
            event.complete = arena.box(m)
        }
        buffer.writeProtobufC(&event)
        withExtendedLifetime(arena) {}
    }

    /// `memchr` over the contiguous UTF-8 (a byte-by-byte `utf8.contains` showed up at 8 % of the
    /// server's CPU in the throughput benchmark).
    @inline(__always)
    static func containsNUL(_ string: String) -> Bool {
        var copy = string
        return copy.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return false }
            return memchr(base, 0, bytes.count) != nil
        }
    }

    private static func encodeText(_ chunk: TextGeneration, event: inout Chorus__V1__AnalyzeEvent, into buffer: inout ByteBuffer) {
        // protobuf-c strings are NUL-terminated; strip embedded NULs rather than truncate silently.
        let text = containsNUL(chunk.text) ? String(chunk.text.filter { $0 != "\0" }) : chunk.text
        let model = containsNUL(chunk.model) ? String(chunk.model.filter { $0 != "\0" }) : chunk.model
        model.withCString { modelPointer in
            text.withCString { textPointer in
                var m = Chorus__V1__TextGeneration()
                chorus__v1__text_generation__init(&m)
                m.model = UnsafeMutablePointer(mutating: modelPointer)
                m.text = UnsafeMutablePointer(mutating: textPointer)
                withUnsafeMutablePointer(to: &m) { textMessage in
                    event.payload_case = CHORUS__V1__ANALYZE_EVENT__PAYLOAD_TEXT_GENERATION
                    event.text_generation = textMessage
                    buffer.writeProtobufC(&event)
                    event.text_generation = nil
                }
            }
        }
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "AnalyzeEvent", unpack: chorus__v1__analyze_event__unpack, free: chorus__v1__analyze_event__free_unpacked) { e in
            let payload: AnalyzeEvent.Payload
            switch e.pointee.payload_case {
            case CHORUS__V1__ANALYZE_EVENT__PAYLOAD_TEXT_GENERATION:
                let m = e.pointee.text_generation!.pointee
                payload = .textGeneration(TextGeneration(model: swiftString(m.model), text: swiftString(m.text)))
            case CHORUS__V1__ANALYZE_EVENT__PAYLOAD_START:
                let m = e.pointee.start!.pointee
                payload = .start(StreamStart(models: swiftStrings(m.n_models, m.models), recommended: Bool(protobufC: m.recommended), requestID: swiftString(m.request_id)))
            case CHORUS__V1__ANALYZE_EVENT__PAYLOAD_MODEL_START:
                let m = e.pointee.model_start!.pointee
                payload = .modelStart(ModelStart(model: swiftString(m.model), provider: swiftString(m.provider)))
            case CHORUS__V1__ANALYZE_EVENT__PAYLOAD_MODEL_END:
                let m = e.pointee.model_end!.pointee
                var stats = ModelStats()
                if let s = m.stats?.pointee {
                    stats = ModelStats(
                        timeToFirstToken: .microseconds(Int64(clamping: s.time_to_first_token_micros)),
                        duration: .microseconds(Int64(clamping: s.duration_micros)),
                        characters: Int(clamping: s.characters),
                        words: Int(clamping: s.words),
                        averageWordLength: s.average_word_length,
                        outputTokens: Bool(protobufC: s.has_output_tokens) ? Int(clamping: s.output_tokens) : nil,
                        tokensPerSecond: s.tokens_per_second,
                        finishReason: swiftString(s.finish_reason),
                        cached: Bool(protobufC: s.cached)
                    )
                }
                payload = .modelEnd(ModelEnd(model: swiftString(m.model), stats: stats))
            case CHORUS__V1__ANALYZE_EVENT__PAYLOAD_ERROR:
                let m = e.pointee.error!.pointee
                payload = .error(ModelError(
                    model: swiftString(m.model),
                    code: ChorusError.Code(rawValue: m.code),
                    message: swiftString(m.message),
                    retryable: Bool(protobufC: m.retryable),
                    retryAfter: m.retry_after_micros > 0 ? .microseconds(Int64(clamping: m.retry_after_micros)) : nil
                ))
            case CHORUS__V1__ANALYZE_EVENT__PAYLOAD_COMPLETE:
                let m = e.pointee.complete!.pointee
                payload = .complete(StreamComplete(
                    succeeded: swiftStrings(m.n_succeeded, m.succeeded),
                    failed: swiftStrings(m.n_failed, m.failed),
                    duration: .microseconds(Int64(clamping: m.duration_micros)),
                    requestID: swiftString(m.request_id)
                ))
            default:
                throw WireError(.malformedPayload, "AnalyzeEvent seq \(e.pointee.seq) has no payload")
            }
            return AnalyzeEvent(seq: e.pointee.seq, timestampMicros: e.pointee.timestamp_micros, payload: payload)
        }
    }
}
