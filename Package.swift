// swift-tools-version: 6.0
//
// Prewarm: predictive power management for Slurm.
//
// Architecture (one direction of dependency, pure core at the bottom):
//   PrewarmCore  – pure Swift (stdlib + Glibc): job features, the forest, the runtime model,
//                  online replay and metrics. No Foundation, no I/O. Runs inside slurmctld.
//   CZlib        – system zlib, for reading .swf.gz workload logs.
//   Traces       – edge: workload log readers (SWF), local-time conversion, file I/O helpers.
//   HistoryStore – edge: the finished-job history in SQLite (system libsqlite3 via CSQLite), ingestion,
//                  sacct parsing, retraining. Daemon and CLI only.
//   PrewarmSubmit – edge inside slurmctld: the C ABI the job_submit plugin (CShim/) calls; stdlib + Glibc only.
//   PrewarmOps   – edge for the daemon and CLI: prewarmd's persisted state, status snapshot, metrics.
//   CXattr       – glibc's getxattr and statfs, for `prewarm check` (POSIX ACLs, filesystem types; CLI only).
//   prewarm      – the command-line tool, thin over the libraries.
import PackageDescription

let package = Package(
    name: "prewarm",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "PrewarmCore", targets: ["PrewarmCore"]),
        .executable(name: "prewarm", targets: ["PrewarmCLI"]),
        // The library the job_submit plugin loads inside slurmctld: Swift runtime linked in statically (no
        // dependency on a Swift toolchain at run time), marked NODELETE because Slurm dlcloses plugins and
        // unloading Swift code is unsafe (swiftlang/swift#75889).
        .library(name: "prewarm_submit", type: .dynamic, targets: ["PrewarmSubmitLibrary"]),
        .executable(name: "prewarm-fuzz", targets: ["PrewarmFuzz"]),
        .executable(name: "prewarmd", targets: ["PrewarmDaemon"]),
    ],
    dependencies: [
        // Argument parsing for the CLI only (never linked into the in-slurmctld library).
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .target(name: "PrewarmCore"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Traces", dependencies: ["PrewarmCore", "CZlib"]),
        .systemLibrary(name: "CPrewarmSubmit", path: "Sources/CPrewarmSubmit"),
        // libslurm's public API (libslurm-dev) for the daemon and the CLI; never linked into slurmctld.
        .systemLibrary(name: "CSlurm", path: "Sources/CSlurm", providers: [.apt(["libslurm-dev"])]),
        .target(name: "SlurmKit", dependencies: ["CSlurm", "PrewarmCore"]),
        // The system SQLite (libsqlite3-dev) for the job history store; daemon and CLI only, never in slurmctld.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "HistoryStore", dependencies: ["PrewarmCore", "CSQLite", "SlurmKit", "Traces"]),
        // prewarmd's operations (Foundation allowed): persisted state, status snapshot, Prometheus metrics.
        .target(name: "PrewarmOps", dependencies: ["Traces"]),
        // getxattr (<sys/xattr.h>, glibc) for `prewarm check`'s reading of POSIX ACLs.
        .systemLibrary(name: "CXattr", path: "Sources/CXattr"),
        .target(name: "PrewarmSubmit", dependencies: ["PrewarmCore", "CPrewarmSubmit"]),
        .target(
            name: "PrewarmSubmitLibrary",
            dependencies: ["PrewarmSubmit"],
            exclude: ["exports.lds"],
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "nodelete",
                    // Full RELRO, as Debian hardens its libraries: the GOT read-only once loaded (the plugin loads
                    // it with RTLD_NOW already). The toolchain's lld, so that every Debian release links it alike:
                    // with Debian 14's GNU ld (no gold there) the library had no RELRO segment at all.
                    "-Xlinker", "-z", "-Xlinker", "relro", "-Xlinker", "-z", "-Xlinker", "now",
                    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/PrewarmSubmitLibrary/exports.lds",
                ])
            ]
        ),
        .executableTarget(
            name: "PrewarmCLI",
            dependencies: [
                "PrewarmCore", "Traces", "SlurmKit", "HistoryStore", "PrewarmOps", "CXattr",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/KTH-SP2-slice.swf.gz")]
        ),
        .executableTarget(
            name: "PrewarmDaemon", dependencies: ["PrewarmCore", "SlurmKit", "Traces", "HistoryStore", "PrewarmOps"]),
        // Fuzz targets over the plugin's C entry point and the script analyser, the model file and prewarm.conf
        // (bench/fuzz-submit, scripts/test).
        .executableTarget(name: "PrewarmFuzz", dependencies: ["PrewarmCore", "PrewarmSubmit", "CPrewarmSubmit"]),
        .testTarget(name: "PrewarmCoreTests", dependencies: ["PrewarmCore"]),
        // The in-controller library's own parts (the notifier's thread and socket).
        .testTarget(name: "PrewarmSubmitTests", dependencies: ["PrewarmSubmit", "PrewarmCore"]),
        .testTarget(name: "TracesTests", dependencies: ["Traces", "PrewarmCore"]),
        .testTarget(name: "SlurmKitTests", dependencies: ["SlurmKit", "PrewarmCore"]),
        .testTarget(name: "HistoryStoreTests", dependencies: ["HistoryStore", "PrewarmCore", "SlurmKit", "Traces"]),
        .testTarget(name: "PrewarmCLITests", dependencies: ["PrewarmCLI", "HistoryStore", "SlurmKit", "CXattr"], exclude: ["Fixtures"]),
        // The adjustment loop (restart safety, back-off), metrics and status, and `prewarm status` on its output.
        .testTarget(
            name: "PrewarmDaemonTests",
            dependencies: ["PrewarmDaemon", "PrewarmOps", "SlurmKit", "PrewarmCLI", "HistoryStore", "Traces"]),
    ]
)
