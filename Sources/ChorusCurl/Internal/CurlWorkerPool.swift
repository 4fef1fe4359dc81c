import Foundation

/// Long-lived threads that run blocking curl transfers, so they never block the cooperative pool
/// and a request does not pay for starting a thread.
///
/// A transfer goes to a waiting worker when there is one, otherwise a new thread starts for it:
/// there are never fewer threads than transfers in flight, so one slow upstream cannot delay
/// another model's request. A worker that has waited `idleTimeout` for work exits, so the pool
/// shrinks back after a burst. (A thread per transfer cost ~0.1 ms of the first token.)
final class CurlWorkerPool: @unchecked Sendable {
    static let shared = CurlWorkerPool(idleTimeout: 30)

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var waiting = 0
    private let idleTimeout: TimeInterval

    init(idleTimeout: TimeInterval) {
        self.idleTimeout = idleTimeout
    }

    /// Runs `job` on a pool thread, now.
    func run(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        let pending = jobs.count - head
        // Every queued job needs its own waiting worker; otherwise start one.
        let needsThread = waiting < pending
        if !needsThread { condition.signal() }
        condition.unlock()
        if needsThread {
            let thread = Thread { [self] in work() }
            thread.name = "chorus-curl"
            thread.start()
        }
    }

    private func work() {
        condition.lock()
        while true {
            if head < jobs.count {
                let job = jobs[head]
                head += 1
                if head == jobs.count {
                    jobs.removeAll(keepingCapacity: true)
                    head = 0
                }
                condition.unlock()
                job()
                condition.lock()
                continue
            }
            waiting += 1
            let signalled = condition.wait(until: Date(timeIntervalSinceNow: idleTimeout))
            waiting -= 1
            if !signalled, head == jobs.count {
                condition.unlock()
                return
            }
        }
    }
}
