import BenchKit
import ChorusCore
import ChorusRPCClient

/// The Chorus side: `ChorusClient.analyze` on one connection, checking the whole event sequence.
struct ChorusStreamClient: StreamClient {
    let client: ChorusClient

    init(port: Int) {
        client = ChorusClient(host: "127.0.0.1", port: port)
    }

    func stream(_ plan: StreamPlan) async throws -> StreamOutcome {
        var checker = TextChecker(plan: plan)
        let count = plan.workload.count
        var expectedSeq: UInt64 = 1
        var total = 0
        for try await event in client.analyze(AnalyzeRequest(query: plan.workload.query)) {
            total += 1
            if event.seq != expectedSeq { checker.problem("event \(expectedSeq) arrived with seq \(event.seq)") }
            expectedSeq = event.seq &+ 1
            switch event.payload {
            case .textGeneration(let chunk):
                checker.text(seq: event.seq &- 2, chunk.text)
                try await checker.pauseIfPlanned()
            case .start:
                if total != 1 { checker.problem("start arrived as event \(total)") }
            case .modelStart:
                if total != 2 { checker.problem("model_start arrived as event \(total)") }
            case .modelEnd:
                if total != count + 3 { checker.problem("model_end arrived as event \(total)") }
            case .complete:
                if total != count + 4 { checker.problem("complete arrived as event \(total)") }
            case .error(let error):
                checker.problem("error event: \(error.code) \(error.message)")
            }
        }
        if total != count + 4 { checker.problem("received \(total) events, expected \(count + 4)") }
        var outcome = checker.finish()
        outcome.totalEvents = total
        return outcome
    }

    func close() async {
        client.close()
    }
}
