public import Logging
import Synchronization

/// A swift-log handler that keeps every entry in memory, for asserting on log lines.
///
/// ```swift
/// let recorder = RecordingLogHandler.Recorder()
/// let logger = recorder.logger(label: "test")
/// // ... use logger ...
/// #expect(recorder.entries.first?.metadata["outcome"] == "ok")
/// ```
public struct RecordingLogHandler: LogHandler {
    /// One log call, with metadata flattened to strings.
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    /// Collects entries from every logger it created.
    public final class Recorder: Sendable {
        private let storage = Mutex<[Entry]>([])

        public init() {}

        public var entries: [Entry] {
            storage.withLock { $0 }
        }

        /// A logger whose entries land in this recorder, at `level` and above.
        public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
            var logger = Logger(label: label, factory: { _ in RecordingLogHandler(recorder: self) })
            logger.logLevel = level
            return logger
        }

        func record(_ entry: Entry) {
            storage.withLock { $0.append(entry) }
        }
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    private let recorder: Recorder

    init(recorder: Recorder) {
        self.recorder = recorder
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        recorder.record(
            Entry(level: event.level, message: event.message.description, metadata: merged.mapValues(\.description)))
    }
}
