// swift-tools-version:6.1
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which differs between clones
// (e.g. `main` here, something else on CI), so derive the name instead of hard-coding it.
let chorusPackage = URL(fileURLWithPath: Context.packageDirectory)
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

// The Chorus benchmark suite: a separate package so the main build never pays for grpc-swift-2.
// One executable, `chorus-bench`, with one subcommand per scenario plus the server subcommands
// it re-executes itself with (`serve-chorus`, `serve-grpc`). See README.md.
let package = Package(
    name: "chorus-bench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chorus-bench", targets: ["ChorusBench"]),
    ],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Shared machinery every scenario uses: results, table, JSON, child processes, /proc readers.
        // The CPU-affinity call BenchKit's WakeLatency needs (not in Swift's Glibc module).
        .target(name: "CBenchSupport"),
        .target(name: "BenchKit", dependencies: ["CBenchSupport"]),

        // Committed output of gen-grpc.sh for proto/ticker.proto (no build plugin: see README).
        .target(
            name: "TickerGRPC",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),

        .executableTarget(
            name: "ChorusBench",
            dependencies: [
                "BenchKit",
                "TickerGRPC",
                .product(name: "ChorusCore", package: chorusPackage),
                .product(name: "ChorusRPCClient", package: chorusPackage),
                .product(name: "ChorusRPCServer", package: chorusPackage),
                .product(name: "ChorusHTTPBridge", package: chorusPackage),
                .product(name: "ChorusOrchestrator", package: chorusPackage),
                .product(name: "ChorusProviders", package: chorusPackage),
                .product(name: "ChorusWire", package: chorusPackage),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // As chorusd (see the main Package.swift): `serve-chorus` must run on the allocator
            // chorusd ships with. Every role of this binary (clients, fake upstream, grpc-swift-2
            // baseline) then uses it too, so both sides of each comparison share one allocator.
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
    ]
)
