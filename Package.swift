// swift-tools-version: 6.2
import PackageDescription

/// Settings shared by every target we own: Swift 6 mode is the default for tools 6.2;
/// these upcoming features keep imports honest and existentials explicit.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "WireCodec",
    products: [
        .library(name: "WireCodec", targets: ["WireCodec"]),
        .library(name: "WireHTTP1", targets: ["WireHTTP1"]),
        .library(name: "WireWebSocket", targets: ["WireWebSocket"]),
        .library(name: "WireSSE", targets: ["WireSSE"]),
        .library(name: "WireCodecNIO", targets: ["WireCodecNIO"]),
        .library(name: "WireCodecTLS", targets: ["WireCodecTLS"]),
        .executable(name: "wirecodec", targets: ["wirecodec"]),
        .executable(name: "wirecodec-echo-server", targets: ["wirecodec-echo-server"]),
        .executable(name: "wirecodec-autobahn-client", targets: ["wirecodec-autobahn-client"]),
        .executable(name: "wirecodec-feed-server", targets: ["wirecodec-feed-server"]),
        .executable(name: "wirecodec-feed-load", targets: ["wirecodec-feed-load"]),
        .executable(name: "wirecodec-bench", targets: ["wirecodec-bench"]),
    ],
    traits: [
        .trait(
            name: "Clients",
            description: "wirecodec ws connect and wirecodec sse listen: the CLI links SwiftNIO and TLS (swift-nio-ssl, BoringSSL). "
                + "Without it (swift build --disable-default-traits) the CLI only decodes and encodes, and builds no network stack."),
        .default(enabledTraits: ["Clients"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        // `swift package generate-documentation --target WireCodec` (Tests/Scripts/docs.sh); no
        // product depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // MARK: Codec modules: no I/O, no clock, no NIO.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "WireCore", swiftSettings: strictSettings),
        .target(
            name: "WireHTTP1",
            dependencies: [
                "WireCore",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "WireWebSocket",
            dependencies: [
                "WireCore",
                "WireHTTP1",
                "CZlib",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "WireSSE",
            dependencies: [
                "WireCore",
                "WireHTTP1",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "WireCodec",
            dependencies: [
                "WireCore", "WireHTTP1", "WireWebSocket", "WireSSE",
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Command-line tool: the decoding logic is a library so tests can drive it.
        .target(
            name: "WireCodecCLI",
            dependencies: ["WireCodec"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "wirecodec",
            dependencies: [
                "WireCodecCLI",
                .target(name: "WireCodecNIO", condition: .when(traits: ["Clients"])),
                .target(name: "WireCodecTLS", condition: .when(traits: ["Clients"])),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Transport adapter and examples.
        // The handlers, the async/await server and WebSocket API, graceful shutdown.
        .target(
            name: "WireCodecNIO",
            dependencies: [
                "WireCodec",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHTTPTypesHTTP2", package: "swift-nio-extras"),
            ],
            swiftSettings: strictSettings
        ),
        // TLS (swift-nio-ssl, BoringSSL): kept apart so that nothing else builds BoringSSL.
        .target(
            name: "WireCodecTLS",
            dependencies: [
                "WireCodecNIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        // What the example servers share: TLS and timeout options, running in a ServiceGroup.
        .target(
            name: "WireExampleSupport",
            dependencies: [
                "WireCodecNIO",
                "WireCodecTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "wirecodec-echo-server",
            dependencies: [
                "WireCodecNIO",
                "WireExampleSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "wirecodec-autobahn-client",
            dependencies: [
                "WireCodecNIO",
                "WireCodecTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        .executableTarget(
            name: "wirecodec-feed-server",
            dependencies: [
                "WireCodecNIO",
                "WireExampleSupport",
                // The shared feed of several instances (--postgres URL): LISTEN/NOTIFY and a table.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "wirecodec-feed-load",
            dependencies: [
                "WireCodecNIO",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Benchmark: the peers are dependencies of this target only.
        .target(name: "CMallocCounter"),
        .target(name: "CBenchZlib", dependencies: ["CZlib"]),
        .executableTarget(
            name: "wirecodec-bench",
            dependencies: [
                "WireCodec",
                "CZlib",
                "CMallocCounter",
                "CBenchZlib",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: Tests
        .target(
            name: "TestSupport",
            dependencies: ["WireCore"],
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WireHTTP1Tests",
            dependencies: [
                "WireHTTP1", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WireWebSocketTests",
            dependencies: [
                "WireWebSocket", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WireSSETests",
            dependencies: [
                "WireSSE", "WireHTTP1", "WireCore", "TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WireCodecNIOTests",
            dependencies: [
                "WireCodecNIO", "WireCodecTLS", "TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "DifferentialTests",
            dependencies: [
                "WireHTTP1", "WireWebSocket", "TestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WireCodecTests",
            dependencies: ["WireCodec", "WireCodecCLI", "TestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
