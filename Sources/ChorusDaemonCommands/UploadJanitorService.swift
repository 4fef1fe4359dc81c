import ChorusProviders
import ServiceLifecycle

/// Runs the upload janitor's sweeps while chorusd serves, and deletes the uploads left once the
/// servers have stopped.
///
/// It is the first service of the group: a service group shuts its services down in reverse
/// order, one after the other, so the janitor hears of the shutdown only after the RPC server and
/// the bridge have drained their calls, and no answer can be using an upload it deletes.
struct UploadJanitorService: Service {
    let janitor: UploadJanitor
    /// How long deleting at exit may take: the process is stopping, a hung upstream must not hold it.
    var exitLimit: Duration = .seconds(10)

    func run() async throws {
        // Sweeps until the shutdown reaches this service (the sweep loop's sleep is cancelled then).
        try? await cancelWhenGracefulShutdown { try await janitor.runSweeps(every: janitor.sweepInterval) }
        // Cancelled without a graceful shutdown: the group is failing, and so would every request.
        guard Task.isShuttingDownGracefully else { return }
        await janitor.deleteAll(within: exitLimit)
    }
}
