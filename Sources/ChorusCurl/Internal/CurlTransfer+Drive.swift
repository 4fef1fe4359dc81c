import Foundation

/// Reading the body by lending a step to the loop thread (``HTTPResponseBody/drive(_:_:)``).
///
/// Reading chunk by chunk resumes the reading task once per chunk: the loop thread resumes a
/// continuation, the task's executor is woken, and the task parses the chunk and waits again. A
/// streaming answer arrives as many small chunks spread over time, so at a few thousand upstream
/// streams that resume was a large share of the relay's CPU. A drive instead has the loop thread
/// call the step with each chunk as it is received, and resumes the task once, when the step
/// pauses or stops, or the body ends, fails or is cancelled.
///
/// The caller's state crosses to the loop thread in an unchecked box, which is sound because:
/// - the step only runs while `drive` is suspended, and never after its task was resumed: whoever
///   ends a drive while the loop thread is inside the step (`stepping`) leaves the resume to that
///   thread, which performs it once the step returned;
/// - it never runs on two threads at once: buffered chunks are handed to it by the task itself
///   before the drive is registered for the loop thread, and the lock orders the two.
extension CurlTransfer {
    typealias Step = ([UInt8]) throws -> HTTPResponseBody.DriveStep

    /// The caller's state while a drive runs (see above for why unchecked).
    private final class StateBox<State>: @unchecked Sendable {
        var value: State

        init(_ value: State) { self.value = value }
    }

    /// A running drive: the borrowed step and the task waiting for the drive to end.
    final class Driver: @unchecked Sendable {
        /// Read by the thread calling the step; released by ``end(_:)`` once no step can run any more.
        private var step: Step?
        private let continuation: UnsafeContinuation<HTTPResponseBody.DriveEnd, any Error>

        init(step: @escaping Step, continuation: UnsafeContinuation<HTTPResponseBody.DriveEnd, any Error>) {
            self.step = step
            self.continuation = continuation
        }

        func run(_ chunk: [UInt8]) -> Result<HTTPResponseBody.DriveStep, any Error> {
            guard let step else { return .success(.pause) }
            return Result { try step(chunk) }
        }

        /// Releases the step and resumes the task (exactly once: by whoever took the driver).
        func end(_ outcome: Result<HTTPResponseBody.DriveEnd, any Error>) {
            step = nil
            continuation.resume(with: outcome)
        }
    }

    /// Hands buffered chunks to `step` at once, then every chunk as the loop thread receives it,
    /// until the step pauses or stops, or the body ends, fails or is cancelled.
    func drive<State: Sendable>(
        _ state: inout State, _ step: @escaping @Sendable (inout State, [UInt8]) throws -> HTTPResponseBody.DriveStep
    ) async throws -> HTTPResponseBody.DriveEnd {
        let box = StateBox(state)
        defer { state = box.value }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                start(Driver(step: { chunk in try step(&box.value, chunk) }, continuation: continuation))
            }
        } onCancel: {
            cancel()
        }
    }

    /// On the driving task: first what arrived meanwhile, then the loop thread's turn.
    private func start(_ driver: Driver) {
        lock.lock()
        while !cancelled, let (chunk, resume) = takeChunkLocked() {
            lock.unlock()
            if resume { loop.resume(self) }
            switch driver.run(chunk) {
            case .success(.more):
                lock.lock()
            case .success(.pause):
                return driver.end(.success(.paused))
            case .success(.stop):
                cancel()
                return driver.end(.success(.stopped))
            case .failure(let error):
                cancel()
                return driver.end(.failure(error))
            }
        }
        if cancelled {
            lock.unlock()
            return driver.end(.failure(CancellationError()))
        }
        if let result {
            lock.unlock()
            return driver.end(result.map { .ended })
        }
        self.driver = driver
        lock.unlock()
    }

    /// On the loop thread, from `receive` with `lock` held (and released here): one chunk to the
    /// registered driver.
    func step(_ driver: Driver, with bytes: UnsafeBufferPointer<UInt8>) -> Received {
        stepping = true
        lock.unlock()
        let outcome = driver.run(Array(bytes))
        lock.lock()
        stepping = false
        if cancelled {
            // `cancel()` ran during the step and left the ending to this thread.
            self.driver = nil
            lock.unlock()
            driver.end(.failure(CancellationError()))
            return .cancelled
        }
        switch outcome {
        case .success(.more):
            lock.unlock()
            return .taken
        case .success(.pause):
            // Later chunks are buffered (and pause the transfer once the buffer is full) until the
            // task drives again.
            self.driver = nil
            lock.unlock()
            driver.end(.success(.paused))
            return .taken
        case .success(.stop):
            // Not aborted here: the rest of this read (often the response's end) is still parsed,
            // so a response that ends now leaves its connection reusable; one that lingers is
            // removed by the cancel command, which the loop runs after this round.
            self.driver = nil
            cancelled = true
            let running = result == nil
            lock.unlock()
            if running { loop.cancel(self) }
            driver.end(.success(.stopped))
            return .taken
        case .failure(let error):
            self.driver = nil
            cancelled = true
            lock.unlock()
            driver.end(.failure(error))
            return .cancelled
        }
    }
}
