import Hummingbird
import NIOCore

/// The bridge's request context: Hummingbird's basics plus the request's channel, through which a
/// streaming response finds its connection's ``ConnectionWatch``.
struct BridgeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
