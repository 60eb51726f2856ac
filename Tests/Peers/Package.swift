// swift-tools-version: 6.2
import PackageDescription

// The end-to-end comparison (issue 18): echo and hello-world servers on plain SwiftNIO,
// Hummingbird, Vapor and WireCodec (handler API and async API), and the load client written on
// the codec. A separate package, so that the main build and `.ci/run` never build Hummingbird
// and Vapor; `Tests/Scripts/e2e-bench.sh` builds and runs it.
let package = Package(
    name: "WireCodecPeers",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "WireCodec", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", exact: "2.8.1"),
        .package(url: "https://github.com/vapor/vapor.git", exact: "4.122.3"),
    ],
    targets: [
        .target(name: "CEpoll"),
        .executableTarget(
            name: "e2e-load",
            dependencies: ["CEpoll", .product(name: "WireCodec", package: "WireCodec")]
        ),
        .executableTarget(
            name: "e2e-nio",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "e2e-hummingbird",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        ),
        .executableTarget(
            name: "e2e-vapor",
            dependencies: [.product(name: "Vapor", package: "vapor")]
        ),
        .executableTarget(
            name: "e2e-wirecodec",
            dependencies: [
                .product(name: "WireCodecNIO", package: "WireCodec"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "e2e-wirecodec-handlers",
            dependencies: [
                .product(name: "WireCodec", package: "WireCodec"),
                .product(name: "WireCodecNIO", package: "WireCodec"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
