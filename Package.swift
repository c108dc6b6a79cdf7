// swift-tools-version:6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "UDSKit",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "UDSKit", targets: ["UDSKit"]),
        .executable(name: "uds", targets: ["uds"]),
        .executable(name: "uds-bench", targets: ["uds-bench"]),
        .library(name: "UDSVarlink", targets: ["UDSVarlink"]),
        .executable(name: "varlink-certification", targets: ["varlink-certification"]),
        .executable(name: "varlink-ping", targets: ["varlink-ping"]),
        // Code generation from .varlink files (issue 14 item 5).
        .plugin(name: "VarlinkGenerator", targets: ["VarlinkGenerator"]),
        .executable(name: "varlink-swift-generator", targets: ["varlink-swift-generator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CUDSKit"),
        .target(
            name: "UDSKit",
            dependencies: [
                "CUDSKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "UDSVarlink",
            dependencies: [
                "UDSKit", "VarlinkIDL", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "varlink-certification",
            dependencies: [
                "UDSKit", "UDSVarlink", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Examples/VarlinkCertification",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "varlink-ping",
            dependencies: [
                "UDSKit", "UDSVarlink", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            path: "Examples/VarlinkPing",
            swiftSettings: strictSettings,
            plugins: ["VarlinkGenerator"]
        ),
        .testTarget(
            name: "UDSVarlinkTests",
            dependencies: [
                "UDSKit", "UDSVarlink", "UDSKitTestSupport", "varlink-certification", "varlink-ping", "uds",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Peers"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "UDSLoad",
            dependencies: [
                "UDSKit", .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "uds",
            dependencies: [
                "UDSKit",
                "UDSVarlink",
                "UDSLoad",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "uds-bench",
            dependencies: [
                "UDSKit",
                "UDSLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "control-daemon",
            dependencies: [
                "UDSKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/ControlDaemon",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "descriptor-passing",
            dependencies: ["UDSKit", .product(name: "SystemPackage", package: "swift-system")],
            path: "Examples/DescriptorPassing",
            swiftSettings: strictSettings
        ),
        .target(
            name: "UDSKitTestSupport",
            dependencies: ["UDSKit"],
            path: "Tests/UDSKitTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "UDSKitTests",
            dependencies: [
                "UDSKit", "UDSKitTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "UDSKitInteropTests",
            dependencies: ["UDSKit", "UDSKitTestSupport", "uds", .product(name: "NIOCore", package: "swift-nio")],
            exclude: ["Peers"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "UDSKitHostileTests",
            dependencies: [
                "UDSKit", "UDSKitTestSupport", "uds", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "udsTests",
            dependencies: ["UDSKit", "UDSKitTestSupport", "uds"],
            swiftSettings: strictSettings
        ),
        // Code generation from .varlink files: the IDL on its own (no dependencies, so that the generator builds
        // quickly), the generator (a library, for its tests, and the executable), the build-tool plugin, and the
        // tests of what it generates.
        .target(name: "VarlinkIDL", swiftSettings: strictSettings),
        .target(name: "VarlinkGeneratorCore", dependencies: ["VarlinkIDL"], swiftSettings: strictSettings),
        .executableTarget(
            name: "varlink-swift-generator", dependencies: ["VarlinkIDL", "VarlinkGeneratorCore"],
            swiftSettings: strictSettings),
        .plugin(name: "VarlinkGenerator", capability: .buildTool(), dependencies: ["varlink-swift-generator"]),
        .testTarget(
            name: "UDSVarlinkGeneratedTests",
            dependencies: [
                "UDSKit", "UDSVarlink", "UDSKitTestSupport", "VarlinkGeneratorCore", "varlink-ping",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings,
            plugins: ["VarlinkGenerator"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
