// swift-tools-version:6.2
import PackageDescription

// Every Swift target gets the same strictness: Swift 6 language mode (set by the tools version),
// explicit `any`, and imports that must be visible where members are used. Nonisolated async
// functions run on their caller's executor (Swift 6.2's `nonisolated(nonsending)`): a call runs on its
// connection's event loop as a task executor preference, and every hop to the generic executor at a
// function's entry and after its calls took the task's status lock to look that preference up
// (tools/bench/PROFILING.md, eleventh pass). `@concurrent` marks the few that must not.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "chorus",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ChorusCore", targets: ["ChorusCore"]),
        .library(name: "ChorusRPCClient", targets: ["ChorusRPCClient"]),
        .library(name: "ChorusRPCServer", targets: ["ChorusRPCServer"]),
        .library(name: "ChorusHTTPBridge", targets: ["ChorusHTTPBridge"]),
        // For tools/bench (a separate package) and embedders that run the orchestrator in-process.
        .library(name: "ChorusWire", targets: ["ChorusWire"]),
        .library(name: "ChorusOrchestrator", targets: ["ChorusOrchestrator"]),
        .library(name: "ChorusProviders", targets: ["ChorusProviders"]),
        .executable(name: "chorusd", targets: ["chorusd"]),
        .executable(name: "chorus", targets: ["chorus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // MARK: - C modules (the only code that touches C pointers is ChorusWire)
        .systemLibrary(
            name: "CChorusProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .systemLibrary(
            name: "CChorusCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "CChorusWireProto",
            dependencies: ["CChorusProtobufC"]
        ),

        // MARK: - Core (no I/O, no C)
        .target(
            name: "ChorusCore",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),

        // MARK: - Wire codec (frames + protobuf-c mapping; knows no providers, no sockets)
        .target(
            name: "ChorusWire",
            dependencies: [
                "ChorusCore",
                "CChorusWireProto",
                "CChorusProtobufC",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),

        // MARK: - Upstream HTTP (libcurl; the only Swift that touches curl handles)
        .target(
            name: "ChorusCurl",
            dependencies: ["ChorusCore", "CChorusCurl"]
        ),

        // MARK: - Fan-out and providers
        .target(
            name: "ChorusOrchestrator",
            dependencies: ["ChorusCore", .product(name: "Logging", package: "swift-log")]
        ),
        // MARK: - Video inputs (media root, ffmpeg frame sampling, local copies; no HTTP)
        .target(
            name: "ChorusMedia",
            dependencies: ["ChorusCore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "ChorusProviders",
            dependencies: [
                "ChorusCore", "ChorusCurl", "ChorusMedia",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: - Transports (receive a ChorusService; never import providers or the orchestrator)
        .target(
            name: "ChorusRPCServer",
            dependencies: [
                "ChorusCore",
                "ChorusWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ChorusRPCClient",
            dependencies: [
                "ChorusCore",
                "ChorusWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(
            name: "ChorusHTTPBridge",
            dependencies: [
                "ChorusCore",
                "ChorusWire",  // EventLoopTaskExecutor only; the bridge speaks no frames
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources")]
        ),

        // MARK: - Command line
        .target(
            name: "ChorusCommandLine",
            dependencies: [
                "ChorusCore",
                "ChorusRPCClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "chorus",
            dependencies: ["ChorusCommandLine"]
        ),
        .target(
            name: "ChorusDaemonCommands",
            dependencies: [
                "ChorusCore",
                "ChorusMedia",
                "ChorusOrchestrator",
                "ChorusProviders",
                "ChorusRPCServer",
                "ChorusRPCClient",
                "ChorusHTTPBridge",
                "ChorusWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "chorusd",
            dependencies: ["ChorusDaemonCommands"],
            // jemalloc instead of glibc's malloc on Linux (Debian libjemalloc-dev), as Vapor's and
            // other Swift server deployment templates do: at 50 back-to-back SSE callers glibc's
            // malloc, free and consolidation were ~13 % of chorusd's CPU samples, jemalloc's ~2 %
            // (README "Benchmarks", allocator). Linked, not preloaded, so `swift run chorusd` gets it.
            // Only the executable links it: the test binary, which links ChorusDaemonCommands, keeps
            // the system allocator (and AddressSanitizer's in the leak check).
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),

        // MARK: - Tests
        .target(
            name: "ChorusTestSupport",
            dependencies: [
                "ChorusCore",
                "ChorusCurl",
                "ChorusOrchestrator",
                "ChorusProviders",
                "ChorusRPCServer",
                "ChorusRPCClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ChorusTestSupport"
        ),
        .testTarget(name: "ChorusCoreTests", dependencies: ["ChorusCore"]),
        .testTarget(
            name: "ChorusCurlTests",
            dependencies: [
                "ChorusCurl", "ChorusCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ChorusMediaTests",
            dependencies: ["ChorusMedia", "ChorusCore", "ChorusTestSupport"]
        ),
        .testTarget(
            name: "ChorusProvidersTests",
            dependencies: [
                "ChorusProviders", "ChorusMedia", "ChorusCurl", "ChorusCore", "ChorusTestSupport",
                "ChorusOrchestrator",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ChorusWireTests",
            dependencies: [
                "ChorusWire", "ChorusCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ChorusOrchestratorTests",
            dependencies: ["ChorusOrchestrator", "ChorusProviders", "ChorusCore", "ChorusTestSupport"]
        ),
        .testTarget(
            name: "ChorusRPCTests",
            dependencies: [
                "ChorusRPCServer", "ChorusRPCClient", "ChorusWire", "ChorusCore", "ChorusTestSupport",
                "ChorusOrchestrator", "ChorusProviders",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ChorusHTTPBridgeTests",
            dependencies: [
                "ChorusHTTPBridge", "ChorusCore", "ChorusTestSupport", "ChorusOrchestrator", "ChorusProviders",
                "ChorusRPCServer", "ChorusRPCClient", "ChorusWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "ChorusDaemonTests",
            dependencies: [
                "ChorusDaemonCommands", "ChorusCore", "ChorusHTTPBridge", "ChorusRPCServer", "ChorusRPCClient", "ChorusWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ChorusCLITests",
            dependencies: ["ChorusCommandLine", "ChorusCore", "ChorusTestSupport"]
        ),
    ]
)

for target in package.targets where target.type != .system && target.name != "CChorusWireProto" {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
