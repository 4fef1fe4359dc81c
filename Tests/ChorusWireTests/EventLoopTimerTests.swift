import ChorusCore
import ChorusWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// `EventLoopTimer` (a call's sleeps as scheduled tasks of its event loop) and `CallTimers`.
@Suite("EventLoopTimer and CallTimers", .timeLimit(.minutes(1)))
struct EventLoopTimerTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    @Test("a sleep lasts at least until its deadline")
    func sleepsUntilDeadline() async throws {
        let timer = EventLoopTimer(eventLoop: Self.group.next())
        let started = ContinuousClock.now
        try await timer.sleep(until: started + .milliseconds(60))
        #expect(ContinuousClock.now - started >= .milliseconds(60))
    }

    @Test("cancelling the sleeping task ends the sleep with CancellationError instead of waiting")
    func cancellationEndsSleep() async throws {
        let timer = EventLoopTimer(eventLoop: Self.group.next())
        let sleeping = Task { try await timer.sleep(until: .now + .seconds(3_600)) }
        try await Task.sleep(for: .milliseconds(20))
        sleeping.cancel()
        await #expect(throws: CancellationError.self) { try await sleeping.value }
    }

    @Test("an already cancelled task throws at once; a past deadline returns at once")
    func edges() async throws {
        let timer = EventLoopTimer(eventLoop: Self.group.next())
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await timer.sleep(until: .now + .seconds(3_600))
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        try await timer.sleep(until: .now - .seconds(1))
    }

    @Test("a sleep on an event loop that shuts down ends with CancellationError instead of hanging")
    func loopShutdown() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let timer = EventLoopTimer(eventLoop: group.next())
        let sleeping = Task { try await timer.sleep(until: .now + .seconds(3_600)) }
        try await Task.sleep(for: .milliseconds(20))
        try await group.shutdownGracefully()
        await #expect(throws: CancellationError.self) { try await sleeping.value }
    }

    @Test("timers of one loop share its ticker; tick sleeps wake on time and end at once when cancelled")
    func loopTicker() async throws {
        let loop = Self.group.next()
        let other = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let timer = EventLoopTimer(eventLoop: loop)
        #expect(timer.ticker != nil)
        #expect(timer.ticker === EventLoopTimer(eventLoop: loop).ticker)
        #expect(timer.ticker !== EventLoopTimer(eventLoop: other.next()).ticker)
        try await other.shutdownGracefully()

        try await CallTimers.$current.withValue(timer) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let delay = Duration.milliseconds(1 + index % 25)
                        let started = ContinuousClock.now
                        try await CallTimers.withPacer { try await $0.sleep(until: started + delay) }
                        let slept = ContinuousClock.now - started
                        #expect(slept >= delay, "woke after \(slept), asked for \(delay)")
                    }
                }
                try await group.waitForAll()
            }
            let sleeping = Task { try await CallTimers.withPacer { try await $0.sleep(until: .now + .seconds(3_600)) } }
            try await Task.sleep(for: .milliseconds(20))
            let cancelledAt = ContinuousClock.now
            sleeping.cancel()
            await #expect(throws: CancellationError.self) { try await sleeping.value }
            #expect(ContinuousClock.now - cancelledAt < .milliseconds(500))
        }
    }

    @Test("tick sleepers of an event loop that shuts down end with CancellationError instead of hanging")
    func loopTickerShutdown() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let timer = EventLoopTimer(eventLoop: group.next())
        let sleeping = Task {
            try await CallTimers.$current.withValue(timer) { try await CallTimers.withPacer { try await $0.sleep(until: .now + .seconds(3_600)) } }
        }
        try await Task.sleep(for: .milliseconds(20))
        try await group.shutdownGracefully()
        await #expect(throws: CancellationError.self) { try await sleeping.value }
    }

    @Test("CallTimers.sleep uses the installed timer, in child tasks too, and Task.sleep without one")
    func installedTimer() async throws {
        let recorder = RecordingTimer()
        try await CallTimers.$current.withValue(recorder) {
            try await CallTimers.sleep(for: .milliseconds(1))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await CallTimers.sleep(for: .milliseconds(1)) }
                try await group.waitForAll()
            }
        }
        #expect(recorder.sleeps == 2)
        try await CallTimers.sleep(for: .milliseconds(1))
        #expect(recorder.sleeps == 2, "outside withValue: Task.sleep")
    }

    final class RecordingTimer: CallTimer {
        private let count = Mutex(0)
        var sleeps: Int { count.withLock { $0 } }

        func sleep(until deadline: ContinuousClock.Instant) async throws {
            count.withLock { $0 += 1 }
            try await Task.sleep(until: deadline, clock: .continuous)
        }
    }
}
