// swift-tools-version: 6.1

import PackageDescription

// HealthSync benchmarks: a package of its own, so that the main package does not depend on the benchmark plugin.
// Run with `swift package --disable-sandbox benchmark` from this directory; see Docs/performance.md.

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "healthsync", path: "../"),
        // "MallocInterposer" alone: the default "RuntimeInterposer" trait needs a package this machine does not have.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Workload generators shared by the benchmarks and `healthsync-load`.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "HealthSync", package: "healthsync"),
                .product(name: "HealthSyncSQLite", package: "healthsync"),
                .product(name: "HealthSyncTesting", package: "healthsync"),
            ],
            path: "Sources/BenchmarkSupport",
            swiftSettings: swiftSettings
        ),
        // A plain executable for what the benchmark plugin does not fit: the C-baseline comparison (`compare.sh`)
        // and generating a capture for `healthsync replay`.
        .executableTarget(
            name: "HealthSyncLoad",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "HealthSync", package: "healthsync"),
                .product(name: "HealthSyncSQLite", package: "healthsync"),
                .product(name: "HealthSyncTesting", package: "healthsync"),
            ],
            path: "Sources/HealthSyncLoad",
            swiftSettings: swiftSettings
        ),
        benchmark("DecodeBenchmarks"),
        benchmark("ProcessBenchmarks"),
        benchmark("SQLiteBenchmarks", using: [.product(name: "HealthSyncSQLite", package: "healthsync")]),
    ]
)

/// A benchmark executable under `Benchmarks/NAME`, run by the benchmark plugin, on the workload generators and the
/// core, plus `dependencies`.
func benchmark(_ name: String, using dependencies: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "BenchmarkSupport",
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: "HealthSync", package: "healthsync"),
        ] + dependencies,
        path: "Benchmarks/\(name)",
        swiftSettings: swiftSettings,
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}
