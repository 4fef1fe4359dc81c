extension HTTPResponseBody {
    /// What the step given to ``drive(_:_:)`` wants after a chunk.
    public enum DriveStep: Sendable, Hashable {
        /// Keep handing over chunks.
        case more
        /// End this drive: later chunks wait, buffered (the transfer pauses once the buffer is
        /// full), for the next ``drive(_:_:)`` or iteration.
        case pause
        /// The body is read far enough: the transfer ends (at once unless the rest of the current
        /// read completes it, which keeps its connection reusable).
        case stop
    }

    /// Why ``drive(_:_:)`` returned.
    public enum DriveEnd: Sendable, Hashable {
        /// The body ended; `step` saw all of it.
        case ended
        /// `step` answered ``DriveStep/pause``.
        case paused
        /// `step` answered ``DriveStep/stop``.
        case stopped
    }

    /// Hands the body's chunks to `step` as they arrive, without resuming the calling task per
    /// chunk: first any chunks already received, on the calling task, then each chunk on the
    /// client's curl thread, inside the transfer's receive callback.
    ///
    /// For a reader whose work per chunk is short and never waits (parse, then hand the result to
    /// a non-blocking sink). Each resume of a task costs a wake-up of its executor; a streaming
    /// answer arrives as many small chunks spread over time, so a gateway relaying thousands of
    /// streams spends much of its time on those resumes.
    ///
    /// `step` runs only while `drive` is suspended, never on two threads at once, and never after
    /// `drive` returned; it works on `state`, which `drive` holds meanwhile and hands back with
    /// every change when it returns. It must not block or take long: the curl thread serves all
    /// of the client's transfers. Its chunks may be larger than a network read (buffered chunks
    /// are handed over one by one, as received).
    ///
    /// - Returns: why the drive ended. After ``DriveEnd/paused`` the rest of the body can be read
    ///   with another `drive` or by iterating; after ``DriveEnd/stopped`` or ``DriveEnd/ended``
    ///   nothing more arrives.
    /// - Throws: the transfer's ``CurlError``, an error `step` threw (the transfer is then
    ///   aborted), or `CancellationError` when the task was cancelled (the transfer too, at once).
    ///
    /// ```swift
    /// var decoder = SSEDecoder()
    /// while try await response.body.drive(&decoder, { decoder, chunk in
    ///     for event in try decoder.feed(chunk) { sink.append(event) }
    ///     return sink.isFull ? .pause : .more
    /// }) == .paused {
    ///     try await sink.waitForRoom()
    /// }
    /// ```
    public func drive<State: Sendable>(
        _ state: inout State, _ step: @escaping @Sendable (inout State, [UInt8]) throws -> DriveStep
    ) async throws -> DriveEnd {
        try await transfer.drive(&state, step)
    }

    /// Aborts the transfer, for a reader that stops reading a body before its end without
    /// iterating it (a dropped iterator does the same on its own). Chunks not yet read are dropped.
    public func cancel() {
        transfer.cancel()
    }
}
