// swift-tools-version: 6.1

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "healthsync",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HealthSync", targets: ["HealthSync"]),
        .library(name: "HealthSyncSQLite", targets: ["HealthSyncSQLite"]),
        .library(name: "HealthSyncTesting", targets: ["HealthSyncTesting"]),
        .executable(name: "healthsync", targets: ["HealthSyncCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "HealthSync",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HealthSyncSQLite",
            dependencies: [
                "HealthSync",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HealthSyncTesting",
            dependencies: ["HealthSync"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HealthSyncCLI",
            dependencies: [
                "HealthSync",
                "HealthSyncSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncTests",
            dependencies: ["HealthSync", "HealthSyncSQLite", "HealthSyncTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncSQLiteTests",
            dependencies: ["HealthSync", "HealthSyncSQLite", "HealthSyncTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncCLITests",
            dependencies: [
                "HealthSyncCLI", "HealthSync", "HealthSyncSQLite", "HealthSyncTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
