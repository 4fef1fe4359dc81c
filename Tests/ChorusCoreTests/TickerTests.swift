import ChorusCore
import Synchronization
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

    @Test("a drive calls its step once per interval, synchronously from the tick, until the step says stop")
    func driveSteps() async throws {
        let ticker = Ticker()
        let clock = ContinuousClock()
        let steps = Counter()
        let started = clock.now
        try await ticker.withPacer { pacer in
            try await pacer.drive(every: .milliseconds(3)) { steps.increment() < 10 }
        }
        #expect(steps.value == 10)
        #expect(clock.now - started >= .milliseconds(30), "10 steps 3 ms apart took \(clock.now - started)")

        // A pacer drives again after a drive ended, and sleeps between drives.
        try await ticker.withPacer { pacer in
            try await pacer.drive(every: .milliseconds(1)) { steps.increment() < 12 }
            try await pacer.sleep(until: .now + .milliseconds(2))
            try await pacer.drive(every: .milliseconds(1)) { steps.increment() < 14 }
        }
        #expect(steps.value == 14)
    }

    @Test("an error thrown by a step ends the drive with that error")
    func driveThrows() async throws {
        struct Refused: Error {}
        let ticker = Ticker()
        let steps = Counter()
        await #expect(throws: Refused.self) {
            try await ticker.withPacer { pacer in
                try await pacer.drive(every: .milliseconds(1)) {
                    if steps.increment() == 3 { throw Refused() }
                    return true
                }
            }
        }
        #expect(steps.value == 3)
    }

    @Test("cancelling a driving task ends the drive at once with CancellationError and no step runs after")
    func driveCancellation() async throws {
        let ticker = Ticker()
        let clock = ContinuousClock()
        let steps = Counter()
        let driving = Task {
            try await ticker.withPacer { pacer in
                try await pacer.drive(every: .milliseconds(2)) {
                    steps.increment()
                    return true
                }
            }
        }
        // Cancelled while waiting for a long tick, the drive ends long before it.
        let slow = Task {
            try await ticker.withPacer { try await $0.drive(every: .seconds(60)) { Issue.record("stepped"); return true } }
        }
        #expect(await steps.wait(atLeast: 5, timeout: .seconds(5)))
        let cancelledAt = clock.now
        driving.cancel()
        slow.cancel()
        await #expect(throws: CancellationError.self) { try await driving.value }
        await #expect(throws: CancellationError.self) { try await slow.value }
        #expect(clock.now - cancelledAt < .milliseconds(500))
        let after = steps.value
        try await Task.sleep(for: .milliseconds(30))
        #expect(steps.value == after, "a step ran after the drive was cancelled")

        // Already cancelled: no step at all.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await ticker.withPacer { try await $0.drive(every: .milliseconds(1)) { Issue.record("stepped"); return true } }
        }
        await #expect(throws: CancellationError.self) { try await early.value }
    }

    @Test("drives cancelled at every moment of their steps each end exactly once", .timeLimit(.minutes(1)))
    func driveCancellationRaces() async throws {
        let ticker = Ticker()
        for round in 0..<300 {
            let driving = Task {
                try await ticker.withPacer { try await $0.drive(every: .milliseconds(1)) { true } }
            }
            // 0 to ~3 ticks in: before registration, in a bucket, or while a step re-registers.
            if round % 4 != 0 { try await Task.sleep(for: .microseconds(round * 37 % 3_000)) }
            driving.cancel()
            await #expect(throws: CancellationError.self) { try await driving.value }
        }
    }

    @Test("a ticker that can no longer arm its timer ends sleeps and drives with CancellationError")
    func failedTicker() async throws {
        let ticker = Ticker { _, fire in
            fire(true)
            return {}
        }
        await #expect(throws: CancellationError.self) {
            try await ticker.withPacer { try await $0.drive(every: .milliseconds(1)) { Issue.record("stepped"); return true } }
        }
        await #expect(throws: CancellationError.self) { try await ticker.sleep(until: .now + .milliseconds(1)) }
    }
}

/// A step counter shared between a test and a ticker's callbacks.
private final class Counter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }

    /// Adds one and returns the new count.
    @discardableResult
    func increment() -> Int {
        count.withLock { count in
            count += 1
            return count
        }
    }

    func wait(atLeast target: Int, timeout: Duration) async -> Bool {
        let giveUp = ContinuousClock.now + timeout
        while value < target, ContinuousClock.now < giveUp { try? await Task.sleep(for: .milliseconds(1)) }
        return value >= target
    }
}
