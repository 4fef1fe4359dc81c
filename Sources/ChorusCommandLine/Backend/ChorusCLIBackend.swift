public import ChorusCore

/// What the command line needs from a Chorus server.
///
/// The commands' logic depends on this protocol rather than on `ChorusClient`, so tests drive it
/// with a scripted fake and the real client is plugged in by ``ChorusClientBackend``.
///
/// ```swift
/// let backend: any ChorusCLIBackend = ChorusClientBackend(address: ServerAddress(host: "127.0.0.1", port: 7070))
/// for try await event in backend.analyze(request, timeout: .seconds(30)) { print(event.eventType) }
/// await backend.close()
/// ```
public protocol ChorusCLIBackend: Sendable {
    /// Starts an Analyze call. Iterating the result drives the call; cancelling the iterating task
    /// must cancel the call on the server. Errors thrown by the sequence should be ``ChorusError``s.
    ///
    /// - Parameter timeout: the deadline of the whole call, nil for none.
    func analyze(_ request: AnalyzeRequest, timeout: Duration?) -> any AsyncSequence<AnalyzeEvent, any Error>

    func listModels() async throws -> [ModelInfo]

    func health() async throws -> HealthReport

    /// Releases the connection. Called once, when the command is done.
    func close() async
}
