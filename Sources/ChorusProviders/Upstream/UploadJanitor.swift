import ChorusCore
public import Foundation
public import Logging
import Synchronization

/// Deletes what the adapters uploaded (TwelveLabs assets, Gemini files) once nothing has used it
/// for a while, and whatever is left when the server stops.
///
/// The upload cache lives in memory: after a restart nothing would use those uploads again, and
/// TwelveLabs keeps an asset until it is deleted (Gemini a file for 48 h), so without this every
/// restart would leave a copy of every video asked about in the account. Each adapter that
/// uploads registers itself with the janitor of the ``ProviderContext`` it is built with; `chorusd`
/// runs ``runSweeps(every:)`` while it serves, and ``deleteAll(within:)`` once the last call has
/// drained.
///
/// ```swift
/// let context = ProviderContext(mediaRoot: root, logger: logger)
/// let registry = try RegistryLoader.load(path: "registry.json", context: context)
/// try await context.uploads.runSweeps(every: context.uploads.sweepInterval)   // until cancelled
/// await context.uploads.deleteAll(within: .seconds(10))                       // after the calls drained
/// ```
public final class UploadJanitor: Sendable {
    /// One adapter's uploads.
    struct Member: Sendable {
        /// The model, for logs.
        var name: String
        /// A sweep deletes uploads no call has used for this long; nil keeps them until the server stops.
        var keepUnused: Duration?
        /// Whether ``UploadJanitor/deleteAll(within:)`` deletes this member's uploads.
        var deleteOnExit: Bool
        /// Forgets and deletes the uploads last used before the instant; returns how many are gone.
        var sweep: @Sendable (_ lastUsedBefore: Date) async -> Int
        /// Forgets and deletes every upload; returns how many are gone.
        var drain: @Sendable () async -> Int
        /// Upload tasks still running (an abandoned one may yet hand over what it created).
        var runningUploads: @Sendable () -> Int = { 0 }
    }

    private let members = Mutex<[Member]>([])
    /// Deletions of abandoned uploads under way (see ``deleteAbandoned(model:_:)``).
    private let abandonedDeletions = Atomic<Int>(0)
    private let logger: Logger
    /// The wall clock of sweeps; the caches of the members record uses on it too.
    let now: @Sendable () -> Date

    /// - Parameter now: the wall clock (tests move it).
    public init(logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.logger = logger
        self.now = now
    }

    func register(_ member: Member) {
        members.withLock { $0.append(member) }
    }

    /// Registers the uploads held in `cache`, deleted with `delete` (see ``Member``).
    func register<Upload: Sendable>(
        name: String, keepUnused: Duration?, deleteOnExit: Bool, cache: UploadCache<Upload>,
        delete: @escaping @Sendable (Upload) async -> Bool
    ) {
        register(Member(
            name: name, keepUnused: keepUnused, deleteOnExit: deleteOnExit,
            sweep: { cutoff in await Self.deleteEach(cache.takeUnused(lastUsedBefore: cutoff), delete) },
            drain: { await Self.deleteEach(cache.takeAll(), delete) },
            runningUploads: { cache.runningUploads }))
    }

    /// Deletes an upload that was created but will never be used: its processing failed, timed
    /// out, or every call waiting for it was cancelled (a client left, the drain grace ran out).
    /// Such an upload is in no cache, so no sweep would find it, and TwelveLabs would keep it for
    /// good. The deletion runs on its own, not in the cancelled task (whose HTTP requests would
    /// fail at once); ``deleteAll(within:)`` waits for it.
    func deleteAbandoned(model: String, _ delete: @escaping @Sendable () async -> Bool) {
        abandonedDeletions.add(1, ordering: .relaxed)
        Task {
            if await delete() { self.logger.info("deleted an abandoned upload", metadata: ["model": "\(model)"]) }
            self.abandonedDeletions.subtract(1, ordering: .relaxed)
        }
    }

    /// ``deleteAbandoned(model:_:)`` through `janitor`, or, for an adapter built without one, in a
    /// task of its own that nothing waits for.
    static func deleteAbandoned(by janitor: UploadJanitor?, model: String, _ delete: @escaping @Sendable () async -> Bool) {
        if let janitor {
            janitor.deleteAbandoned(model: model, delete)
        } else {
            Task { _ = await delete() }
        }
    }

    /// How often a sweep is worth running: a tenth of the shortest time uploads are kept unused,
    /// between 10 s and 5 minutes (5 minutes when no member deletes while running).
    public var sweepInterval: Duration {
        let shortest = members.withLock { $0.compactMap(\.keepUnused).min() }
        guard let shortest else { return .seconds(300) }
        return min(max(shortest / 10, .seconds(10)), .seconds(300))
    }

    /// Deletes, for every member that keeps uploads for a limited time, those unused for longer.
    ///
    /// - Returns: the number of uploads deleted.
    @discardableResult
    public func sweep() async -> Int {
        let current = now()
        var deleted = 0
        for member in members.withLock({ $0 }) {
            guard let keep = member.keepUnused else { continue }
            let count = await member.sweep(current.addingTimeInterval(-keep.seconds))
            if count > 0 { logger.info("deleted unused uploads", metadata: ["model": "\(member.name)", "count": "\(count)"]) }
            deleted += count
        }
        return deleted
    }

    /// Sweeps every `interval` until the task is cancelled (then throws `CancellationError`).
    public func runSweeps(every interval: Duration) async throws {
        while true {
            try await Task.sleep(for: interval)
            await sweep()
        }
    }

    /// Deletes every upload of the members that delete on exit, giving up after `limit` (the
    /// server is stopping: a hung upstream must not hold it). Call it once no call can use an
    /// upload any more.
    ///
    /// - Returns: the number of uploads deleted, or nil when it gave up.
    @discardableResult
    public func deleteAll(within limit: Duration) async -> Int? {
        let leaving = members.withLock { $0.filter(\.deleteOnExit) }
        guard !leaving.isEmpty else { return 0 }
        enum Outcome: Sendable { case deleted(Int), timedOut, cancelled }
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask { [logger] in
                // Uploads cancelled with the last calls hand what they created to
                // deleteAbandoned as they end (before they stop counting as running): wait for
                // them, and for those deletions.
                while self.members.withLock({ $0.contains { $0.runningUploads() > 0 } }) || self.abandonedDeletions.load(ordering: .relaxed) > 0 {
                    do { try await Task.sleep(for: .milliseconds(10)) } catch { return .cancelled }
                }
                var deleted = 0
                for member in leaving {
                    let count = await member.drain()
                    if count > 0 { logger.info("deleted uploads on exit", metadata: ["model": "\(member.name)", "count": "\(count)"]) }
                    deleted += count
                }
                return .deleted(deleted)
            }
            group.addTask {
                do { try await Task.sleep(for: limit) } catch { return .cancelled }
                return .timedOut
            }
            defer { group.cancelAll() }
            return await group.next() ?? .cancelled
        }
        guard case .deleted(let count) = outcome else {
            logger.warning("gave up deleting uploads on exit", metadata: ["limit": "\(limit)"])
            return nil
        }
        return count
    }
}

extension UploadJanitor {
    /// Deletes `uploads` with `delete`, all at once (an exit or a sweep rarely finds more than a
    /// few); returns how many are gone.
    static func deleteEach<Upload: Sendable>(_ uploads: [Upload], _ delete: @escaping @Sendable (Upload) async -> Bool) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for upload in uploads { group.addTask { await delete(upload) } }
            var deleted = 0
            for await gone in group where gone { deleted += 1 }
            return deleted
        }
    }
}
