@testable import ChorusProviders
import Testing

@Suite("DemoTicker (shared pacing of demo streams)")
struct DemoTickerTests {
    @Test("many concurrent sleepers each wake no earlier than asked")
    func noneEarly() async throws {
        let ticker = DemoTicker()
        let clock = ContinuousClock()
        try await withThrowingTaskGroup(of: Duration.self) { group in
            for index in 0..<500 {
                let delay = Duration.milliseconds(1 + index % 40)
                group.addTask {
                    let started = clock.now
                    try await ticker.sleep(for: delay)
                    let slept = clock.now - started
                    #expect(slept >= delay, "woke after \(slept), asked for \(delay)")
                    return slept - delay
                }
            }
            var late: [Duration] = []
            for try await lateness in group { late.append(lateness) }
            #expect(late.count == 500)
        }
    }

    @Test("a sooner sleeper arriving while the driver waits for a later tick is not held back")
    func soonerSleeper() async throws {
        let ticker = DemoTicker()
        let clock = ContinuousClock()
        let long = Task { try await ticker.sleep(for: .seconds(2)) }
        try await Task.sleep(for: .milliseconds(20))
        let started = clock.now
        try await ticker.sleep(for: .milliseconds(10))
        let slept = clock.now - started
        #expect(slept >= .milliseconds(10))
        #expect(slept < .milliseconds(1_000), "the 10 ms sleeper waited \(slept) behind the 2 s one")
        long.cancel()
        await #expect(throws: CancellationError.self) { try await long.value }
    }

    @Test("cancelling a sleeper ends it at once with CancellationError")
    func cancellation() async throws {
        let ticker = DemoTicker()
        let clock = ContinuousClock()
        let sleeper = Task { try await ticker.sleep(for: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(20))
        let cancelledAt = clock.now
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.now - cancelledAt < .milliseconds(500))
        // An already-cancelled task does not sleep at all.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await ticker.sleep(for: .seconds(60))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }
}
