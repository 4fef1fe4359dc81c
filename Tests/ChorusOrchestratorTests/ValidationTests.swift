import ChorusCore
import ChorusOrchestrator
import ChorusProviders
import ChorusTestSupport
import Testing

@Suite("Request validation", .timeLimit(.minutes(1)))
struct ValidationTests {
    let observer = DemoObserver()
    var orchestrator: Orchestrator {
        Orchestrator(registry: BuiltInRegistry.make(observer: observer), logger: silentLogger)
    }

    /// Runs `request`, expecting INVALID_ARGUMENT before any event and before any model started.
    func rejection(
        _ request: AnalyzeRequest, limits: ServiceLimits = .init(), videoPaths: (any VideoPathValidator)? = nil
    ) async -> ChorusError? {
        let orchestrator = Orchestrator(
            registry: BuiltInRegistry.make(observer: observer), limits: limits, videoPaths: videoPaths,
            logger: silentLogger)
        let sink = CollectingSink()
        do {
            try await orchestrator.analyze(request, context: CallContext(), sink: sink)
            Issue.record("the request was accepted")
            return nil
        } catch let error as ChorusError {
            #expect(error.code == .invalidArgument)
            #expect(sink.events.isEmpty, "events were appended before the error")
            #expect(observer.counts.started == 0, "a model ran")
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("an empty or whitespace-only query is rejected", arguments: ["", "   ", "\n\t  \r\n"])
    func emptyQuery(query: String) async {
        #expect(await rejection(AnalyzeRequest(query: query, models: ["gemini"]))?.message == "query must not be empty")
    }

    @Test("a query over the limit is rejected with its length")
    func longQuery() async {
        let error = await rejection(AnalyzeRequest(query: String(repeating: "a", count: 9_001), models: ["gemini"]))
        #expect(error?.message == "query is 9001 characters; the maximum is 8000")
    }

    @Test("a query exactly at the limit is accepted")
    func queryAtLimit() async throws {
        let limits = ServiceLimits(maxQueryLength: 20)
        let orchestrator = Orchestrator(registry: BuiltInRegistry.make(), limits: limits, logger: silentLogger)
        let events = try await collect(orchestrator, AnalyzeRequest(query: "[demo:fast] ab cd ef", models: ["gemini"]))
        #expect(events.complete?.succeeded == ["gemini"])
    }

    @Test("an unknown model is rejected, listing the known ones")
    func unknownModel() async {
        let error = await rejection(AnalyzeRequest(query: "What happens?", models: ["gemini", "gpt5"]))
        #expect(error?.message == "unknown model 'gpt5'; known: gemini, gpt4o, pegasus")
    }

    @Test("a duplicate model is rejected")
    func duplicateModel() async {
        let error = await rejection(AnalyzeRequest(query: "What happens?", models: ["gemini", "pegasus", "gemini"]))
        #expect(error?.message == "duplicate model 'gemini' in models")
    }

    @Test("more models than the per-call limit are rejected")
    func tooManyModels() async {
        let models = ["gemini", "pegasus", "gpt4o", "a", "b", "c", "d", "e", "f"]
        let error = await rejection(AnalyzeRequest(query: "What happens?", models: models))
        #expect(error?.message == "models lists 9 entries; the maximum per call is 8")
    }

    @Test("a request_id over the limit is rejected")
    func longRequestID() async {
        let error = await rejection(
            AnalyzeRequest(query: "q", models: ["gemini"], requestID: String(repeating: "x", count: 129)))
        #expect(error?.message == "request_id is 129 bytes; the maximum is 128")
    }

    @Test("a request_id with a control character is rejected", arguments: ["abc\ndef", "tab\there", "é-accent"])
    func unprintableRequestID(id: String) async {
        let error = await rejection(AnalyzeRequest(query: "q", models: ["gemini"], requestID: id))
        #expect(error?.message.hasPrefix("request_id contains a non-printable character at position") == true)
    }

    @Test("a non-positive model timeout is rejected")
    func badModelTimeout() async {
        let request = AnalyzeRequest(query: "q", models: ["gemini"], options: AnalyzeOptions(modelTimeout: .zero))
        #expect(await rejection(request)?.message == "options.model_timeout must be positive")
    }

    @Test("a client request_id is echoed in start and complete")
    func echoesRequestID() async throws {
        let request = AnalyzeRequest(query: "[demo:fast] q", models: ["gemini"], requestID: "client-42")
        let events = try await collect(orchestrator, request)
        #expect(events.start?.requestID == "client-42")
        #expect(events.complete?.requestID == "client-42")
    }

    @Test("a missing request_id is generated: 16 hex digits, different per call")
    func generatesRequestID() async throws {
        let first = try await collect(
            orchestrator, AnalyzeRequest(query: "[demo:fast] q", models: ["gemini"], requestID: ""))
        let second = try await collect(orchestrator, AnalyzeRequest(query: "[demo:fast] q", models: ["gemini"]))
        let ids = [first.start?.requestID ?? "", second.start?.requestID ?? ""]
        for id in ids {
            #expect(id.count == 16 && id.allSatisfy(\.isHexDigit), "bad id \(id)")
        }
        #expect(ids[0] != ids[1])
        #expect(first.complete?.requestID == ids[0])
    }

    /// Accepts only `ok.mp4`, the way a media root accepts only files inside it.
    struct OnlyOK: VideoPathValidator {
        func validateVideoPath(_ path: String) throws -> String {
            guard path == "ok.mp4" else {
                throw ChorusError(.invalidArgument, "video_path '\(path)' is outside the media root")
            }
            return "/media/ok.mp4"
        }
    }

    @Test("video_path is refused without a media root, and checked against one before any model runs")
    func videoPath() async throws {
        let request = AnalyzeRequest(query: "q", models: ["gemini"], video: VideoReference(videoPath: "../etc/passwd"))
        #expect(
            await rejection(request)?.message
                == "video_path is not accepted: this server has no media root (start chorusd with --media-root DIR)")
        #expect(
            await rejection(request, videoPaths: OnlyOK())?.message == "video_path '../etc/passwd' is outside the media root")

        let sink = CollectingSink()
        let accepted = AnalyzeRequest(query: "q [demo:fast]", models: ["gemini"], video: VideoReference(videoPath: "ok.mp4"))
        let orchestrator = Orchestrator(
            registry: BuiltInRegistry.make(observer: observer), videoPaths: OnlyOK(), logger: silentLogger)
        try await orchestrator.analyze(accepted, context: CallContext(), sink: sink)
        #expect(sink.events.last?.eventType == "complete")
    }
}
