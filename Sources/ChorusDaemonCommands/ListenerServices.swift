import ServiceLifecycle

/// chorusd's listeners (the RPC server and the HTTP bridge) run as one service, so that a graceful
/// shutdown reaches all of them at the same moment.
///
/// A `ServiceGroup` shuts its services down one after the other, in reverse order, and waits for
/// each to return before it tells the next. As two services, the bridge drained its running
/// streams first, and the RPC server went on accepting new calls for as long as that took
/// (tools/shutdown-test.sh caught it). Here both hear of the shutdown together (the child tasks
/// share the group's graceful-shutdown signal), stop accepting at once and drain side by side; the
/// service returns when both have drained, which is when the group moves on to the services before
/// it (the upload janitor, see ``UploadJanitorService``).
///
/// ```swift
/// let listeners = ListenerServices([rpcServer, bridge])
/// let group = ServiceGroup(configuration: .init(services: [.init(service: janitor), .init(service: listeners)], logger: logger))
/// ```
struct ListenerServices: Service {
    let services: [any Service]

    init(_ services: [any Service]) {
        self.services = services
    }

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                group.addTask { try await service.run() }
            }
            // The first listener to end (an error is rethrown here, and the group cancels the
            // others). Ending without a shutdown under way is a failure of the process: stop the
            // others too, as the service group does when any of its services returns. During a
            // graceful shutdown each listener drains and returns on its own.
            try await group.next()
            if !Task.isShuttingDownGracefully { group.cancelAll() }
            try await group.waitForAll()
        }
    }
}
