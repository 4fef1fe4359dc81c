import ChorusCore
import Testing

@Suite("Ticker (millisecond pacing shared by many sleepers)")
struct TickerTests {
    @Test("many concurrent sleepers each wake no earlier than asked")
    func noneEarly() async throws {
        let ticker = Ticker()
        let clock = ContinuousClock()
        try await withThrowingTaskGroup(of: Duration.self) { group in
            for index in 0..<500 {
                let delay = Duration.milliseconds(1 + index % 40)
                group.addTask {
                    let started = clock.now
                    try await ticker.sleep(until: clock.now + delay)
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

    @Test("a sooner sleeper arriving while the timer is armed for a later tick is not held back")
    func soonerSleeper() async throws {
        let ticker = Ticker()
        let clock = ContinuousClock()
        let long = Task { try await ticker.sleep(until: .now + .seconds(2)) }
        try await Task.sleep(for: .milliseconds(20))
        let started = clock.now
        try await ticker.sleep(until: clock.now + .milliseconds(10))
        let slept = clock.now - started
        #expect(slept >= .milliseconds(10))
        #expect(slept < .milliseconds(1_000), "the 10 ms sleeper waited \(slept) behind the 2 s one")
        long.cancel()
        await #expect(throws: CancellationError.self) { try await long.value }
    }

    @Test("cancelling a sleeper ends it at once with CancellationError")
    func cancellation() async throws {
        let ticker = Ticker()
        let clock = ContinuousClock()
        let sleeper = Task { try await ticker.sleep(until: .now + .seconds(60)) }
        try await Task.sleep(for: .milliseconds(20))
        let cancelledAt = clock.now
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.now - cancelledAt < .milliseconds(500))
        // An already-cancelled task does not sleep at all.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await ticker.sleep(until: .now + .seconds(60))
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }

    @Test("a pacer's sleeps follow each other on time; cancelling its task ends the current and every later sleep")
    func pacer() async throws {
        let ticker = Ticker()
        let clock = ContinuousClock()
        let started = clock.now
        try await ticker.withPacer { pacer in
            for _ in 0..<5 { try await pacer.sleep(until: clock.now + .milliseconds(4)) }
        }
        #expect(clock.now - started >= .milliseconds(20))

        let sleeps = Task {
            try await ticker.withPacer { pacer in
                var completed = 0
                do {
                    while true {
                        try await pacer.sleep(until: .now + .milliseconds(30))
                        completed += 1
                    }
                } catch {
                    // Later sleeps, even ones already due, throw too.
                    await #expect(throws: CancellationError.self) { try await pacer.sleep(until: .now + .milliseconds(1)) }
                    await #expect(throws: CancellationError.self) { try await pacer.sleep(until: .now - .seconds(1)) }
                    throw error
                }
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        let cancelledAt = clock.now
        sleeps.cancel()
        await #expect(throws: CancellationError.self) { try await sleeps.value }
        #expect(clock.now - cancelledAt < .milliseconds(500))
    }
}
