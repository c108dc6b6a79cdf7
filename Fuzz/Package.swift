// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for UDSKit's pure codecs, kept out of the main package so that its users never build them.
// Build and run them with Scripts/fuzz.sh; each executable gets its `main` from libFuzzer (`-sanitize=fuzzer`).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "UDSKitFuzz",
    dependencies: [
        .package(name: "UDSKit", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: strictSettings),
        .executableTarget(
            name: "FrameDecoderFuzz",
            dependencies: [
                "FuzzSupport",
                .product(name: "UDSKit", package: "UDSKit"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "EndOfStreamReaderFuzz",
            dependencies: ["FuzzSupport", .product(name: "UDSKit", package: "UDSKit")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "AcknowledgementFuzz",
            dependencies: ["FuzzSupport", .product(name: "UDSKit", package: "UDSKit")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
