import BenchKit
import GRPCCore
import GRPCNIOTransportHTTP2
import TickerGRPC

/// The grpc-swift-2 side: `Ticker.Stream` over the HTTP/2 NIO transport, plaintext, one connection.
///
/// A paused reader really stops reading: the loop over `response.messages` sleeps, so nothing
/// pulls messages from the transport until it resumes.
struct GRPCStreamClient: StreamClient {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let connections: Task<Void, any Error>

    init(port: Int) throws {
        let client = GRPCClient(
            transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        )
        self.client = client
        connections = Task { try await client.runConnections() }
    }

    func stream(_ plan: StreamPlan) async throws -> StreamOutcome {
        var request = Bench_V1_StreamRequest()
        request.count = UInt64(plan.workload.count)
        request.payloadSize = UInt32(plan.workload.payloadSize)
        let ticker = Bench_V1_Ticker.Client(wrapping: client)
        return try await ticker.stream(request) { response in
            var checker = TextChecker(plan: plan)
            var total = 0
            for try await tick in response.messages {
                total += 1
                checker.text(seq: tick.seq, tick.text)
                try await checker.pauseIfPlanned()
            }
            var outcome = checker.finish()
            outcome.totalEvents = total
            return outcome
        }
    }

    func close() async {
        client.beginGracefulShutdown()
        _ = try? await connections.value
    }
}
