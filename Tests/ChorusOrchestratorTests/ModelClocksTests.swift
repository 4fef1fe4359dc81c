import Testing

@testable import ChorusOrchestrator

/// The watchdog's decisions, checked without sleeping: every instant is computed from a fixed start.
@Suite("ModelClocks state machine", .timeLimit(.minutes(1)))
struct ModelClocksTests {
    let start = ContinuousClock.now
    let limits = ModelClocks.Limits(
        firstChunk: .milliseconds(100), idle: .milliseconds(50), total: .milliseconds(1_000))

    func at(_ ms: Int) -> ContinuousClock.Instant { start.advanced(by: .milliseconds(ms)) }

    // #expect cannot call mutating methods, so these wrap the two that decide something.
    func check(_ clocks: inout ModelClocks, _ ms: Int) -> ModelClocks.Action { clocks.check(now: at(ms)) }
    func arrive(_ clocks: inout ModelClocks, _ ms: Int) -> Bool { clocks.chunkArrived(at: at(ms)) }

    @Test("before the first chunk the watchdog sleeps until the first-chunk deadline, then expires")
    func firstChunk() {
        var clocks = ModelClocks(limits: limits, started: start)
        #expect(check(&clocks, 60) == .sleep(until: at(100)))
        #expect(check(&clocks, 100) == .expire(.firstChunk(.milliseconds(100))))
        // The decision is final: later chunks are refused.
        #expect(!arrive(&clocks, 101))
        #expect(check(&clocks, 2_000) == .expire(.firstChunk(.milliseconds(100))))
    }

    @Test("while waiting for a first chunk the watchdog wakes at least once per idle period")
    func firstChunkThenIdle() {
        // A long first-chunk limit and a short idle limit: a chunk arriving at 30 ms and then silence
        // must expire at 80 ms, not when the first-chunk clock would have.
        let limits = ModelClocks.Limits(
            firstChunk: .milliseconds(10_000), idle: .milliseconds(50), total: .milliseconds(60_000))
        var clocks = ModelClocks(limits: limits, started: start)
        #expect(check(&clocks, 0) == .sleep(until: at(50)))
        #expect(arrive(&clocks, 30))
        clocks.writeFinished(at: at(30))
        #expect(check(&clocks, 50) == .sleep(until: at(80)))
        #expect(check(&clocks, 80) == .expire(.idle(.milliseconds(50))))
    }

    @Test("after a chunk the idle deadline follows the last activity")
    func idle() {
        var clocks = ModelClocks(limits: limits, started: start)
        #expect(arrive(&clocks, 30))
        clocks.writeFinished(at: at(31))
        #expect(check(&clocks, 40) == .sleep(until: at(81)))
        #expect(arrive(&clocks, 70))
        clocks.writeFinished(at: at(70))
        #expect(check(&clocks, 81) == .sleep(until: at(120)))
        #expect(check(&clocks, 120) == .expire(.idle(.milliseconds(50))))
        #expect(clocks.firstChunkAt == at(30))
    }

    @Test("time blocked in a write (slow consumer) does not count as silence")
    func blockedWrite() {
        var clocks = ModelClocks(limits: limits, started: start)
        #expect(arrive(&clocks, 10))
        // Still inside the write 300 ms later: no idle expiry, look again one idle period later.
        #expect(check(&clocks, 300) == .sleep(until: at(350)))
        clocks.writeFinished(at: at(320))
        #expect(check(&clocks, 350) == .sleep(until: at(370)))
        #expect(check(&clocks, 370) == .expire(.idle(.milliseconds(50))))
    }

    @Test("the total clock wins whatever else is going on, including a blocked write")
    func total() {
        var clocks = ModelClocks(limits: limits, started: start)
        #expect(arrive(&clocks, 10))
        #expect(check(&clocks, 980) == .sleep(until: at(1_000)))
        #expect(check(&clocks, 1_000) == .expire(.total(.milliseconds(1_000))))
    }

    @Test("a chunk arriving after a deadline is refused even if the watchdog has not run yet")
    func lateChunk() {
        var clocks = ModelClocks(limits: limits, started: start)
        #expect(arrive(&clocks, 10))
        clocks.writeFinished(at: at(10))
        #expect(!arrive(&clocks, 61))
        #expect(clocks.expiry == .idle(.milliseconds(50)))
    }

    @Test("a preparation (an upload) stops the first-chunk clock, which then resumes with what it had left")
    func preparationPausesFirstChunk() {
        var clocks = ModelClocks(limits: limits, started: start)
        clocks.preparationBegan(at: at(30))
        // 70 ms of the first-chunk clock are left; while preparing, look again within them.
        #expect(check(&clocks, 30) == .sleep(until: at(80)))
        // Long past the 100 ms first-chunk limit, but preparing: once per idle period.
        #expect(check(&clocks, 500) == .sleep(until: at(550)))
        clocks.preparationEnded(at: at(600))
        #expect(clocks.firstChunkDeadline == at(670))
        #expect(check(&clocks, 600) == .sleep(until: at(650)))
        #expect(check(&clocks, 650) == .sleep(until: at(670)))
        #expect(check(&clocks, 670) == .expire(.firstChunk(.milliseconds(100))))
    }

    @Test("overlapping preparations pause the clock once, from the first start to the last end")
    func nestedPreparations() {
        var clocks = ModelClocks(limits: limits, started: start)
        clocks.preparationBegan(at: at(10))
        clocks.preparationBegan(at: at(20))
        clocks.preparationEnded(at: at(200))
        #expect(check(&clocks, 250) == .sleep(until: at(300)))
        clocks.preparationEnded(at: at(300))
        #expect(clocks.firstChunkDeadline == at(390))
        #expect(arrive(&clocks, 380))
        #expect(clocks.firstChunkAt == at(380))
    }

    @Test("a first-chunk clock that ran out before a preparation began stays run out")
    func preparationTooLate() {
        var clocks = ModelClocks(limits: limits, started: start)
        clocks.preparationBegan(at: at(120))
        #expect(check(&clocks, 130) == .expire(.firstChunk(.milliseconds(100))))
    }

    @Test("a preparation after the first chunk stops the idle clock, which restarts when it ends")
    func preparationAfterFirstChunk() {
        var clocks = ModelClocks(limits: limits, started: start)
        #expect(arrive(&clocks, 10))
        clocks.writeFinished(at: at(10))
        clocks.preparationBegan(at: at(20))
        #expect(check(&clocks, 500) == .sleep(until: at(550)))
        clocks.preparationEnded(at: at(600))
        #expect(check(&clocks, 640) == .sleep(until: at(650)))
        #expect(check(&clocks, 650) == .expire(.idle(.milliseconds(50))))
    }

    @Test("the total clock runs through a preparation")
    func preparationAndTotal() {
        var clocks = ModelClocks(limits: limits, started: start)
        clocks.preparationBegan(at: at(10))
        #expect(check(&clocks, 980) == .sleep(until: at(1_000)))
        #expect(check(&clocks, 1_000) == .expire(.total(.milliseconds(1_000))))
    }

    @Test(
        "expiry messages name the model and the clock",
        arguments: [
            (ModelClocks.Expiry.firstChunk(.seconds(10)), "gemini sent no text within 10s (first-chunk timeout)"),
            (.idle(.seconds(5)), "gemini stalled: no text for 5s (idle timeout)"),
            (.total(.seconds(30)), "gemini exceeded its total timeout of 30s"),
            (.total(.milliseconds(1_500)), "gemini exceeded its total timeout of 1.5s"),
            (.idle(.milliseconds(250)), "gemini stalled: no text for 250ms (idle timeout)"),
        ]
    )
    func messages(expiry: ModelClocks.Expiry, message: String) {
        #expect(expiry.message(model: "gemini") == message)
    }
}
