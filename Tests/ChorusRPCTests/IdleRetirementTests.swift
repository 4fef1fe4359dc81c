import ChorusCore
@testable import ChorusRPCClient
import ChorusRPCServer
import ChorusWire
import Logging
import NIOPosix
import Synchronization
import Testing

/// The two halves of the race `ConnectionPoolTests` provokes with 1 ms idle timeouts, taken one
/// at a time on a `ClientConnection`: a connection the client closes as idle after it chose it
/// for a queued call must refuse that call before sending anything (the client then sends it on
/// another connection), and a connection that runs a call is never closed as idle.
@Suite("Client: connections closed as idle", .timeLimit(.minutes(1)))
struct IdleRetirementTests {
    /// Runs `body` with one `ClientConnection` to a server running `service`.
    static func withConnection(
        _ service: ConformanceService, _ body: @Sendable (ClientConnection) async throws -> Void
    ) async throws {
        try await withServer(service: service) { _, port in
            let connection = try await ClientConnection.connect(
                host: "127.0.0.1", port: port, configuration: ChorusClient.Configuration(),
                group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "idle-retirement-test"))
            defer { connection.close() }
            try await body(connection)
        }
    }

    /// An Analyze call answering three messages.
    static func startCall(on connection: ClientConnection) async throws -> ClientCall {
        try await connection.startCall(method: ChorusMethod.analyze, request: AnalyzeRequest(query: "sizes:1,2,3"), options: CallOptions())
    }

    @Test("a connection closed as idle refuses a queued call unsent, so the client can send it elsewhere")
    func retiredConnectionRefusesUnsent() async throws {
        let service = ConformanceService()
        try await Self.withConnection(service) { connection in
            #expect(connection.retireIfIdle())
            #expect(!connection.isUsable)
            #expect(!connection.tryAcquireSlot(), "a retired connection must not hand out slots")
            await #expect {
                _ = try await Self.startCall(on: connection)
            } throws: { error in
                // RefusedCall is what ChorusClient.startCall retries on another connection.
                (error as? RefusedCall)?.error.message == "connection closed as idle"
            }
            // Nothing reached the server: sending the call elsewhere cannot run it twice.
            try await Task.sleep(for: .milliseconds(50))
            #expect(service.observations.withLock { $0.started } == 0)
        }
    }

    @Test("a connection running a call is not closed as idle; once the call ended it can be")
    func busyConnectionStays() async throws {
        try await Self.withConnection(ConformanceService()) { connection in
            let call = try await Self.startCall(on: connection)
            #expect(!connection.retireIfIdle(), "a connection with a call running must stay")
            var reader = ClientCallReader(call: call)
            var messages = 0
            while try await reader.next() != nil { messages += 1 }
            #expect(messages == 3)
            // The slot is given back when CALL_END arrives, before the reader sees the end.
            #expect(connection.retireIfIdle())
        }
    }
}
