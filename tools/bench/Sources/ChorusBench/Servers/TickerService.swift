import BenchKit
import GRPCCore
import TickerGRPC

/// The grpc-swift-2 side: streams the same N texts as ``BenchChorusService``, one
/// `RPCWriter.write` per message (the natural streaming pattern, and the one the baseline in
/// rpc-and-sse.md §7 measured).
struct TickerService: Bench_V1_Ticker.SimpleServiceProtocol {
    func stream(request: Bench_V1_StreamRequest, response: RPCWriter<Bench_V1_Tick>, context: ServerContext) async throws {
        let workload = StreamWorkload(count: Int(request.count), payloadSize: Int(request.payloadSize))
        let texts = workload.texts
        var tick = Bench_V1_Tick()
        tick.model = TextWorkload.model
        for index in 0..<workload.count {
            tick.seq = UInt64(index + 1)
            tick.timestampMicros = unixMicrosNow()
            tick.text = texts.text(at: index)
            try await response.write(tick)
        }
    }
}
