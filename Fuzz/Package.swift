// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for UDSKit's pure codecs, kept out of the main package so that its users never build them.
// Build and run them with Scripts/fuzz.sh.
//
// Each target is a static library, not an executable: SwiftPM links an executable with `main` aliased to
// `<Module>_main`, which a fuzz target lacks, since its `main` comes from libFuzzer. Scripts/fuzz.sh links each
// `lib<Target>.a` with `swiftc -sanitize=fuzzer,address` itself (the way swiftwasm/WasmKit's FuzzTesting does).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let fuzzTargets = ["FrameDecoderFuzz", "EndOfStreamReaderFuzz", "AcknowledgementFuzz", "VarlinkFuzz"]

let package = Package(
    name: "UDSKitFuzz",
    products: fuzzTargets.map { .library(name: $0, type: .static, targets: [$0]) },
    dependencies: [
        .package(name: "UDSKit", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: strictSettings),
        .target(
            name: "FrameDecoderFuzz",
            dependencies: [
                "FuzzSupport",
                .product(name: "UDSKit", package: "UDSKit"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "EndOfStreamReaderFuzz",
            dependencies: ["FuzzSupport", .product(name: "UDSKit", package: "UDSKit")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "VarlinkFuzz",
            dependencies: [
                "FuzzSupport", .product(name: "UDSKit", package: "UDSKit"),
                .product(name: "UDSVarlink", package: "UDSKit"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "AcknowledgementFuzz",
            dependencies: ["FuzzSupport", .product(name: "UDSKit", package: "UDSKit")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
