import BenchKit
import Foundation
import Synchronization

/// Benchmark 5: a client that stops reading for a while during a long stream.
///
/// The client reads a few events, sleeps (not reading) for `pauseSeconds` while this process
/// samples the server's RSS every 100 ms, then drains the stream and checks every event arrived
/// in order. A server with working backpressure stops producing at the flow-control window, so
/// its RSS stays flat; one without buffers the whole stream.
struct SlowReaderScenario: Scenario {
    struct Config: Sendable {
        var events = 1_000_000
        var pauseSeconds = 10.0
        var readBeforePause = 10
        var sampleInterval = 0.1
        var sides = Side.allCases

        static let smoke = Config(events: 50_000, pauseSeconds: 1)
    }

    var config: Config
    let name = "slow-reader"
    let title = "a client stops reading mid-stream; server RSS"
    let baseline = Side.grpc.displayName

    struct SideResult: Sendable {
        var side: Side
        var rssBefore: Int
        var rssPeak: Int
        var rssEndOfPause: Int?
        var rssAfter: Int
        var drainSeconds: Double
        var totalSeconds: Double
        var outcome: StreamOutcome
        var samples: [RSSSampler.Sample]

        var growth: Int { rssPeak - rssBefore }

        var json: JSONValue {
            [
                "side": .string(side.rawValue),
                "rss_before_bytes": .int(rssBefore),
                "rss_peak_bytes": .int(rssPeak),
                "rss_end_of_pause_bytes": .optional(rssEndOfPause.map(Double.init)),
                "rss_after_bytes": .int(rssAfter),
                "rss_growth_bytes": .int(growth),
                "drain_seconds": .number(drainSeconds),
                "total_seconds": .number(totalSeconds),
                "text_events": .int(outcome.textEvents),
                "problems": .array(outcome.problems.map { .string($0) }),
                "rss_samples": .array(samples.map { ["t": .number(($0.t * 1000).rounded() / 1000), "rss_bytes": .int($0.rssBytes), "phase": .string($0.phase)] }),
            ]
        }
    }

    func run(_ context: ScenarioContext) async throws -> ScenarioResult {
        var result = ScenarioResult(name: name, title: title, baseline: baseline, config: [
            "events": .int(config.events),
            "pause_seconds": .number(config.pauseSeconds),
            "read_before_pause": .int(config.readBeforePause),
            "sample_interval_seconds": .number(config.sampleInterval),
            "payload": .string("\(TextWorkload.minLength)-\(TextWorkload.maxLength) bytes, deterministic mix"),
            "sides": .array(config.sides.map { .string($0.rawValue) }),
            "chorus_call_window_bytes": .int(1024 * 1024),
        ])
        var sides: [Side: SideResult] = [:]
        for side in config.sides {
            context.log("\(name): \(side.rawValue): \(config.events) events, pause \(config.pauseSeconds) s after \(config.readBeforePause)")
            let sideResult = try await measure(side)
            result.failures += sideResult.outcome.problems.map { "\(side.rawValue): \($0)" }
            context.log("\(name): \(side.rawValue): RSS \(mb(sideResult.rssBefore)) → peak \(mb(sideResult.rssPeak)) → after \(mb(sideResult.rssAfter)) MB, drained in \(String(format: "%.2f", sideResult.drainSeconds)) s")
            sides[side] = sideResult
        }
        func metric(_ name: String, unit: String = "MB", better: Better = .lower, _ value: (SideResult) -> Double?) -> Metric {
            Metric(name, unit: unit, better: better, chorus: sides[.chorus].flatMap(value), baseline: sides[.grpc].flatMap(value))
        }
        let growth = metric("server RSS growth") { Double($0.growth) / 1e6 }
        result.metrics = [
            metric("server RSS before") { Double($0.rssBefore) / 1e6 },
            metric("server RSS peak") { Double($0.rssPeak) / 1e6 },
            metric("server RSS end of pause") { $0.rssEndOfPause.map { Double($0) / 1e6 } },
            metric("server RSS after drain") { Double($0.rssAfter) / 1e6 },
            growth,
            metric("drain time", unit: "s") { $0.drainSeconds },
        ]
        if let chorus = sides[.chorus] {
            // "Flat": growth within the call's flow-control window plus the outbound buffer, with slack for allocator noise.
            let limit = 16 * 1024 * 1024
            result.targets = [Target(description: "Chorus server RSS growth stays flat (< \(limit / 1024 / 1024) MiB) while the client does not read", actual: "\(mb(chorus.growth)) MB", met: chorus.growth < limit)]
        }
        result.details = ["sides": .array(Side.allCases.compactMap { sides[$0]?.json })]
        return result
    }

    private func measure(_ side: Side) async throws -> SideResult {
        let endpoint = try Endpoint.start(side)
        defer { endpoint.server.stop() }
        let pid = endpoint.server.pid
        // First call pays for the connection and one-time allocations; not part of the measurement.
        let warmup = try await endpoint.client.stream(StreamPlan(workload: StreamWorkload(count: 1_000)))
        guard warmup.problems.isEmpty else { throw BenchError("\(side.rawValue) warm-up: \(warmup.problems)") }
        try await Task.sleep(for: .milliseconds(300))

        let sampler = RSSSampler(pid: pid, interval: config.sampleInterval)
        sampler.mark("idle")
        sampler.start()
        try await Task.sleep(for: .milliseconds(300))
        let rssBefore = ProcStats.rssBytes(pid: pid) ?? 0
        let peakResettable = ProcStats.resetPeakRSS(pid: pid)

        let clock = ContinuousClock()
        let resumed = Mutex<ContinuousClock.Instant?>(nil)
        let plan = StreamPlan(
            workload: StreamWorkload(count: config.events),
            pause: (afterEvents: config.readBeforePause, duration: .milliseconds(Int64(config.pauseSeconds * 1000))),
            onPhase: { phase in
                if phase == "draining" { resumed.withLock { $0 = clock.now } }
                sampler.mark(phase)
            }
        )
        sampler.mark("reading")
        let started = clock.now
        let outcome = try await endpoint.client.stream(plan)
        let ended = clock.now
        sampler.mark("settling")
        try await Task.sleep(for: .seconds(1))
        let rssAfter = ProcStats.rssBytes(pid: pid) ?? 0
        let samples = sampler.stop()
        let peakHWM = peakResettable ? ProcStats.peakRSSBytes(pid: pid) ?? 0 : 0
        await endpoint.stop()

        let measured = samples.filter { $0.phase != "idle" }
        return SideResult(
            side: side,
            rssBefore: rssBefore,
            rssPeak: max(measured.map(\.rssBytes).max() ?? 0, peakHWM, rssBefore),
            rssEndOfPause: samples.last { $0.phase == "paused" }?.rssBytes,
            rssAfter: rssAfter,
            drainSeconds: resumed.withLock { $0 }.map { (ended - $0).secondsDouble } ?? 0,
            totalSeconds: (ended - started).secondsDouble,
            outcome: outcome,
            samples: samples
        )
    }

    private func mb(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1e6) }
}
