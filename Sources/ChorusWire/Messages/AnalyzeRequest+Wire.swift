public import ChorusCore
internal import CChorusProtobufC
internal import CChorusWireProto
public import NIOCore

extension AnalyzeRequest: WireMessage {
    public func encode(into buffer: inout ByteBuffer) {
        let arena = CArena()
        var options = Chorus__V1__AnalyzeOptions()
        chorus__v1__analyze_options__init(&options)
        options.model_timeout_ms = UInt32(clamping: (self.options.modelTimeout?.microseconds ?? 0) / 1000)
        options.max_output_tokens = UInt32(clamping: self.options.maxOutputTokens ?? 0)
        if let temperature = self.options.temperature {
            options.has_temperature = true.protobufC
            options.temperature = Float(temperature)
        }
        var m = Chorus__V1__AnalyzeRequest()
        chorus__v1__analyze_request__init(&m)
        m.query = arena.string(query)
        m.n_models = models.count
        m.models = arena.strings(models)
        m.index_id = arena.string(video.indexID ?? "")
        m.video_id = arena.string(video.videoID ?? "")
        m.video_path = arena.string(video.videoPath ?? "")
        m.request_id = arena.string(requestID ?? "")
        m.options = arena.box(options)
        buffer.writeProtobufC(&m)
        withExtendedLifetime(arena) {}
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "AnalyzeRequest", unpack: chorus__v1__analyze_request__unpack, free: chorus__v1__analyze_request__free_unpacked) { m in
            var options = AnalyzeOptions()
            if let o = m.pointee.options {
                if o.pointee.model_timeout_ms > 0 { options.modelTimeout = .milliseconds(Int64(o.pointee.model_timeout_ms)) }
                if o.pointee.max_output_tokens > 0 { options.maxOutputTokens = Int(o.pointee.max_output_tokens) }
                if Bool(protobufC: o.pointee.has_temperature) { options.temperature = Double(o.pointee.temperature) }
            }
            let requestID = swiftString(m.pointee.request_id)
            return AnalyzeRequest(
                query: swiftString(m.pointee.query),
                models: swiftStrings(m.pointee.n_models, m.pointee.models),
                video: VideoReference(
                    indexID: swiftString(m.pointee.index_id),
                    videoID: swiftString(m.pointee.video_id),
                    videoPath: swiftString(m.pointee.video_path)
                ),
                requestID: requestID.isEmpty ? nil : requestID,
                options: options
            )
        }
    }
}

/// The (empty) request of `ListModels`.
public struct ListModelsRequest: WireMessage, Hashable {
    public init() {}
    public func encode(into buffer: inout ByteBuffer) {}
    public init(decoding buffer: ByteBuffer) throws {
        _ = try withUnpacked(buffer, as: "ListModelsRequest", unpack: chorus__v1__list_models_request__unpack, free: chorus__v1__list_models_request__free_unpacked) { _ in () }
    }
}

/// The (empty) request of `Health`.
public struct HealthRequest: WireMessage, Hashable {
    public init() {}
    public func encode(into buffer: inout ByteBuffer) {}
    public init(decoding buffer: ByteBuffer) throws {
        _ = try withUnpacked(buffer, as: "HealthRequest", unpack: chorus__v1__health_request__unpack, free: chorus__v1__health_request__free_unpacked) { _ in () }
    }
}

/// The response of `ListModels`.
public struct ListModelsResponse: WireMessage, Hashable {
    public var models: [ModelInfo]

    public init(models: [ModelInfo]) { self.models = models }

    public func encode(into buffer: inout ByteBuffer) {
        let arena = CArena()
        var m = Chorus__V1__ListModelsResponse()
        chorus__v1__list_models_response__init(&m)
        m.n_models = models.count
        m.models = arena.boxes(models.map { info in
            var entry = Chorus__V1__ModelInfo()
            chorus__v1__model_info__init(&entry)
            entry.name = arena.string(info.name)
            entry.provider = arena.string(info.provider)
            entry.demo = info.demo.protobufC
            entry.available = info.available.protobufC
            entry.upstream_model = arena.string(info.upstreamModel)
            entry.description = arena.string(info.description)
            return entry
        })
        buffer.writeProtobufC(&m)
        withExtendedLifetime(arena) {}
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "ListModelsResponse", unpack: chorus__v1__list_models_response__unpack, free: chorus__v1__list_models_response__free_unpacked) { m in
            var models: [ModelInfo] = []
            for index in 0..<m.pointee.n_models {
                guard let info = m.pointee.models[index] else { continue }
                models.append(ModelInfo(
                    name: swiftString(info.pointee.name),
                    provider: swiftString(info.pointee.provider),
                    demo: Bool(protobufC: info.pointee.demo),
                    available: Bool(protobufC: info.pointee.available),
                    upstreamModel: swiftString(info.pointee.upstream_model),
                    description: swiftString(info.pointee.description)
                ))
            }
            return ListModelsResponse(models: models)
        }
    }
}

extension HealthReport: WireMessage {
    public func encode(into buffer: inout ByteBuffer) {
        let arena = CArena()
        var m = Chorus__V1__HealthResponse()
        chorus__v1__health_response__init(&m)
        switch status {
        case .serving: m.status = CHORUS__V1__HEALTH_RESPONSE__SERVING_STATUS__SERVING
        case .notServing: m.status = CHORUS__V1__HEALTH_RESPONSE__SERVING_STATUS__NOT_SERVING
        case .unknown: m.status = CHORUS__V1__HEALTH_RESPONSE__SERVING_STATUS__UNKNOWN
        }
        m.version = arena.string(version)
        m.uptime_micros = uptime.microseconds
        m.active_calls = UInt32(clamping: activeCalls)
        buffer.writeProtobufC(&m)
        withExtendedLifetime(arena) {}
    }

    public init(decoding buffer: ByteBuffer) throws {
        self = try withUnpacked(buffer, as: "HealthResponse", unpack: chorus__v1__health_response__unpack, free: chorus__v1__health_response__free_unpacked) { m in
            let status: HealthReport.Status
            switch m.pointee.status {
            case CHORUS__V1__HEALTH_RESPONSE__SERVING_STATUS__SERVING: status = .serving
            case CHORUS__V1__HEALTH_RESPONSE__SERVING_STATUS__NOT_SERVING: status = .notServing
            default: status = .unknown
            }
            return HealthReport(
                status: status,
                version: swiftString(m.pointee.version),
                uptime: .microseconds(Int64(clamping: m.pointee.uptime_micros)),
                activeCalls: Int(m.pointee.active_calls)
            )
        }
    }
}
