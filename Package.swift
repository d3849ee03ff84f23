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
        .library(name: "HealthSyncPostgres", targets: ["HealthSyncPostgres"]),
        .library(name: "HealthSyncTesting", targets: ["HealthSyncTesting"]),
        .library(name: "HealthSyncHTTP", targets: ["HealthSyncHTTP"]),
        .library(name: "HealthSyncAudit", targets: ["HealthSyncAudit"]),
        .library(name: "HealthSyncConsole", targets: ["HealthSyncConsole"]),
        .library(name: "HealthSyncExport", targets: ["HealthSyncExport"]),
        .executable(name: "healthsync", targets: ["HealthSyncCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The PostgreSQL store's client and connection pool (HealthSyncPostgres only).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // `serve` reads its options from the environment and a JSON or YAML file too (Docs/operations.md).
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["JSON", "YAML"]),
        // The YAML parser swift-configuration uses: `serve` reads the line of a bad key from its nodes.
        .package(url: "https://github.com/jpsim/Yams", "5.4.0"..<"7.0.0"),
        // FilePath, which swift-configuration's file providers take.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
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
        // SQLite's process-wide settings that Swift cannot call (`sqlite3_config` is variadic). Not a product.
        .target(
            name: "CSQLiteSettings",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .target(
            name: "HealthSyncSQLite",
            dependencies: [
                "HealthSync",
                "CSQLiteSettings",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HealthSyncPostgres",
            dependencies: [
                "HealthSync",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HealthSyncTesting",
            dependencies: ["HealthSync"],
            swiftSettings: swiftSettings
        ),
        // Health as time series: the Prometheus and OpenMetrics text of `GET /metrics/health`, and the history
        // exports (OpenMetrics, InfluxDB line protocol, OpenTSDB JSON) of `healthsync export`.
        .target(
            name: "HealthSyncExport",
            dependencies: ["HealthSync"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HealthSyncHTTP",
            dependencies: [
                "HealthSync",
                "HealthSyncExport",
                "HealthSyncHTML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HealthSyncAudit",
            dependencies: ["HealthSync", "HealthSyncConsole", "HealthSyncHTML"],
            swiftSettings: swiftSettings
        ),
        // HTML whose interpolated text is escaped by default: the audit's report and the HTTP status page and badge.
        // Package access only, not a product.
        .target(
            name: "HealthSyncHTML",
            swiftSettings: swiftSettings
        ),
        // Text for terminals: aligned tables, escaping of control characters, durations as operators type them.
        .target(
            name: "HealthSyncConsole",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HealthSyncCLI",
            dependencies: [
                "HealthSync",
                "HealthSyncSQLite",
                "HealthSyncPostgres",
                "HealthSyncHTTP",
                "HealthSyncAudit",
                "HealthSyncConsole",
                "HealthSyncExport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the package's own test targets share and no user of the package needs: the kinds of store tests run
        // over (`StoreKind`), the PostgreSQL server of the tests (`PostgresTestDatabase`), temporary files, and
        // `TinyFilesystem`, which mounts a tmpfs (root on Linux). Not a product.
        .target(
            name: "HealthSyncTestSupport",
            dependencies: [
                "HealthSync", "HealthSyncSQLite", "HealthSyncPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HealthSyncTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncTests",
            dependencies: ["HealthSync", "HealthSyncSQLite", "HealthSyncTesting", "HealthSyncTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncSQLiteTests",
            dependencies: [
                "HealthSync", "HealthSyncSQLite", "HealthSyncTesting", "HealthSyncTestSupport",
                // The error-mapping tests make GRDB's `DatabaseError`s; sources other than the store never see GRDB.
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncPostgresTests",
            dependencies: [
                "HealthSync", "HealthSyncPostgres", "HealthSyncTesting", "HealthSyncTestSupport",
                // The error-mapping and configuration tests name PostgresNIO's types.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncHTTPTests",
            dependencies: [
                "HealthSyncHTTP", "HealthSync", "HealthSyncSQLite", "HealthSyncTesting", "HealthSyncTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncAuditTests",
            dependencies: [
                "HealthSyncAudit", "HealthSyncConsole", "HealthSync", "HealthSyncSQLite", "HealthSyncTesting",
                "HealthSyncTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncExportTests",
            dependencies: [
                "HealthSyncExport", "HealthSync", "HealthSyncSQLite", "HealthSyncTesting", "HealthSyncTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthSyncCLITests",
            dependencies: [
                "HealthSyncCLI", "HealthSync", "HealthSyncSQLite", "HealthSyncTesting", "HealthSyncTestSupport",
                "HealthSyncExport", "HealthSyncPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // EventRecordMigrationTests writes a database at an earlier schema version.
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
