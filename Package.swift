// swift-tools-version: 6.0
//
// Prewarm: predictive power management for Slurm.
//
// Architecture (one direction of dependency, pure core at the bottom):
//   PrewarmCore  – pure Swift (stdlib + Glibc): job features, the forest, the runtime model,
//                  online replay and metrics. No Foundation, no I/O. Runs inside slurmctld.
//   CZlib        – system zlib, for reading .swf.gz workload logs.
//   Traces       – edge: workload log readers (SWF), local-time conversion, file I/O helpers.
//   prewarm      – the command-line tool, thin over the libraries.
import PackageDescription

let package = Package(
    name: "prewarm",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "PrewarmCore", targets: ["PrewarmCore"]),
        .executable(name: "prewarm", targets: ["PrewarmCLI"]),
    ],
    dependencies: [
        // Argument parsing for the CLI only (never linked into the in-slurmctld library).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .target(name: "PrewarmCore"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Traces", dependencies: ["PrewarmCore", "CZlib"]),
        .executableTarget(
            name: "PrewarmCLI",
            dependencies: [
                "PrewarmCore", "Traces",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/KTH-SP2-slice.swf.gz")]
        ),
        .testTarget(name: "PrewarmCoreTests", dependencies: ["PrewarmCore"]),
        .testTarget(name: "TracesTests", dependencies: ["Traces", "PrewarmCore"]),
        .testTarget(name: "PrewarmCLITests", dependencies: ["PrewarmCLI"], exclude: ["Fixtures"]),
    ]
)
