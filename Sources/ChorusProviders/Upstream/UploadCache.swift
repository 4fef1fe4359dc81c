import Foundation
import Synchronization

/// Remembers what a provider has uploaded to its API (Gemini files, TwelveLabs assets), by a
/// key such as the video's content hash.
///
/// One upload serves every call that asks for the same video while the upload is usable (a
/// Gemini file until Google deletes it, 48 h; a TwelveLabs asset until it is refused). Calls that
/// arrive while an upload is running wait for that upload instead of starting their own. A
/// waiter whose task is cancelled leaves at once; when the last waiter leaves, the upload itself
/// is cancelled, so an abandoned question never keeps an upload going.
///
/// ```swift
/// let store = UploadCache<GeminiFile>(expiry: { $0.expirationTime })
/// let file = try await store.value(for: video.sha256) { try await uploader.upload(video, displayName: name) }
/// ```
final class UploadCache<Value: Sendable>: Sendable {
    /// An upload is used only while at least this much of its lifetime is left, so that it cannot
    /// expire between the check and the end of a long answer.
    static var expiryMargin: TimeInterval { 15 * 60 }

    private struct Flight {
        var id: Int
        var task: Task<Void, Never>?
        var waiters: [Int: CheckedContinuation<Value, any Error>] = [:]
    }

    private enum Entry {
        /// `expires` nil: usable until ``invalidate(key:where:)``. `lastUsed`: when a call last
        /// got it (see ``takeUnused(lastUsedBefore:)``).
        case ready(Value, expires: Date?, lastUsed: Date)
        case uploading(Flight)
    }

    private enum WaitAction {
        case resume(Value), cancelled, wait, start(flightID: Int)
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var nextID = 0
        /// Calls using the upload of a key right now (``retain(key:)``): a sweep leaves it alone.
        var users: [String: Int] = [:]
        /// Upload tasks still running, abandoned ones included (see ``runningUploads``).
        var running = 0
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Date
    private let expiry: @Sendable (Value) -> Date?

    /// - Parameters:
    ///   - now: the wall clock (tests move it to expire uploads).
    ///   - expiry: when an upload stops being usable; nil for never (until invalidated).
    init(now: @escaping @Sendable () -> Date = { Date() }, expiry: @escaping @Sendable (Value) -> Date? = { _ in nil }) {
        self.now = now
        self.expiry = expiry
    }

    /// The cached upload for `key`, or the result of the upload in flight for it, or of `upload`.
    func value(
        for key: String, upload: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try Task.checkCancellation()
        let waiterID = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let action: WaitAction = state.withLock { state in
                    // The cancellation handler may already have run and found nothing to resume.
                    if Task.isCancelled { return .cancelled }
                    let current = self.now()
                    switch state.entries[key] {
                    case .ready(let value, let expires, _) where expires.map { $0.timeIntervalSince(current) > Self.expiryMargin } ?? true:
                        state.entries[key] = .ready(value, expires: expires, lastUsed: current)
                        return .resume(value)
                    case .uploading(var flight):
                        flight.waiters[waiterID] = continuation
                        state.entries[key] = .uploading(flight)
                        return .wait
                    default:
                        state.nextID += 1
                        state.entries[key] = .uploading(Flight(id: state.nextID, waiters: [waiterID: continuation]))
                        return .start(flightID: state.nextID)
                    }
                }
                switch action {
                case .resume(let value): continuation.resume(returning: value)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .wait: break
                case .start(let flightID): start(flightID, key: key, upload: upload)
                }
            }
        } onCancel: {
            leave(waiterID, key: key)
        }
    }

    /// Forgets the upload of `key` if `stale` says it is the one that failed (expired, or refused
    /// by the API), so that the next call uploads again. A newer upload of the same video that
    /// replaced it meanwhile is kept.
    func invalidate(key: String, where stale: (Value) -> Bool) {
        state.withLock { state in
            if case .ready(let value, _, _) = state.entries[key], stale(value) {
                state.entries[key] = nil
            }
        }
    }

    /// Marks the upload of `key` as in use by a call (from just after ``value(for:upload:)``
    /// returned it until ``release(key:)``), so that ``takeUnused(lastUsedBefore:)`` keeps it
    /// however long the answer takes.
    func retain(key: String) {
        state.withLock { $0.users[key, default: 0] += 1 }
    }

    /// Ends a ``retain(key:)``.
    func release(key: String) {
        state.withLock { state in
            let left = (state.users[key] ?? 1) - 1
            state.users[key] = left > 0 ? left : nil
        }
    }

    /// Forgets and returns the uploads no call has got since `cutoff` and none is using, for
    /// deletion. Uploads in flight stay. A call asking for one of them afterwards uploads again.
    func takeUnused(lastUsedBefore cutoff: Date) -> [Value] {
        take { lastUsed, inUse in lastUsed < cutoff && !inUse }
    }

    /// Forgets and returns every finished upload, in use or not, for deletion when the server
    /// stops (after its calls have drained).
    func takeAll() -> [Value] {
        take { _, _ in true }
    }

    /// Forgets and returns the finished uploads `chosen` picks, given when each was last used and
    /// whether a call is using it.
    private func take(_ chosen: (_ lastUsed: Date, _ inUse: Bool) -> Bool) -> [Value] {
        state.withLock { state in
            var taken: [Value] = []
            for (key, entry) in state.entries {
                if case .ready(let value, _, let lastUsed) = entry, chosen(lastUsed, state.users[key] != nil) {
                    taken.append(value)
                    state.entries[key] = nil
                }
            }
            return taken
        }
    }

    /// Number of finished uploads held (for tests).
    var readyCount: Int {
        state.withLock { state in
            state.entries.values.count { if case .ready = $0 { true } else { false } }
        }
    }

    /// Number of uploads in flight (for tests).
    var uploadsInFlight: Int {
        state.withLock { state in
            state.entries.values.count { if case .uploading = $0 { true } else { false } }
        }
    }

    /// Upload tasks still running, including those every waiter left (cancelled, and about to hand
    /// what they had created to ``UploadJanitor/deleteAbandoned(model:_:)``).
    var runningUploads: Int {
        state.withLock { $0.running }
    }

    /// Calls waiting for the upload of `key` (for tests).
    func waiterCount(for key: String) -> Int {
        state.withLock { state in
            if case .uploading(let flight) = state.entries[key] { return flight.waiters.count }
            return 0
        }
    }

    // MARK: - Internals

    private func start(_ flightID: Int, key: String, upload: @escaping @Sendable () async throws -> Value) {
        // Unstructured: the upload belongs to every waiter, not to the call that happened to start it.
        state.withLock { $0.running += 1 }
        let task = Task {
            let result: Result<Value, any Error>
            do {
                result = .success(try await upload())
            } catch {
                result = .failure(error)
            }
            self.finish(flightID, key: key, result: result)
            self.state.withLock { $0.running -= 1 }
        }
        let abandoned = state.withLock { state -> Bool in
            guard case .uploading(var flight) = state.entries[key], flight.id == flightID else { return true }
            flight.task = task
            state.entries[key] = .uploading(flight)
            return false
        }
        if abandoned { task.cancel() }
    }

    private func finish(_ flightID: Int, key: String, result: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            var waiters: [CheckedContinuation<Value, any Error>] = []
            if case .uploading(let flight) = state.entries[key], flight.id == flightID {
                waiters = Array(flight.waiters.values)
                state.entries[key] = nil
            }
            // Keep a good upload even when everybody who wanted it has left: the next call uses it.
            if case .success(let value) = result, state.entries[key] == nil {
                state.entries[key] = .ready(value, expires: expiry(value), lastUsed: now())
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    private func leave(_ waiterID: Int, key: String) {
        let (waiter, task) = state.withLock { state -> (CheckedContinuation<Value, any Error>?, Task<Void, Never>?) in
            guard case .uploading(var flight) = state.entries[key],
                let waiter = flight.waiters.removeValue(forKey: waiterID)
            else { return (nil, nil) }
            if flight.waiters.isEmpty {
                state.entries[key] = nil
                return (waiter, flight.task)
            }
            state.entries[key] = .uploading(flight)
            return (waiter, nil)
        }
        waiter?.resume(throwing: CancellationError())
        task?.cancel()
    }
}
