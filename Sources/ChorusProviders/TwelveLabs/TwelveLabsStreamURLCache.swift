import Synchronization

/// Recently retrieved HLS URLs per index/video pair, shared by every copy of a locator.
///
/// TwelveLabs' stream URLs stay valid for a while, and every model of a fan-out that needs the
/// video asks for the same one, so one retrieval serves them all. Entries expire after ``ttl``;
/// beyond ``capacity`` the expired entries go first, then the oldest.
final class TwelveLabsStreamURLCache: Sendable {
    struct Key: Hashable {
        var indexID: String
        var videoID: String
    }

    private struct Entry {
        var url: String
        var stored: ContinuousClock.Instant
    }

    let capacity: Int
    let ttl: Duration
    private let entries = Mutex<[Key: Entry]>([:])

    init(capacity: Int = 256, ttl: Duration = .seconds(600)) {
        self.capacity = max(1, capacity)
        self.ttl = ttl
    }

    /// The cached URL, or nil when absent or expired.
    func url(for key: Key, now: ContinuousClock.Instant = .now) -> String? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard now - entry.stored < ttl else {
                entries[key] = nil
                return nil
            }
            return entry.url
        }
    }

    func store(_ url: String, for key: Key, now: ContinuousClock.Instant = .now) {
        entries.withLock { entries in
            if entries[key] == nil && entries.count >= capacity {
                entries = entries.filter { now - $0.value.stored < ttl }
                if entries.count >= capacity, let oldest = entries.min(by: { $0.value.stored < $1.value.stored }) {
                    entries[oldest.key] = nil
                }
            }
            entries[key] = Entry(url: url, stored: now)
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
