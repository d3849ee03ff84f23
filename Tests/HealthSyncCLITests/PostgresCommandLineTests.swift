import ArgumentParser
import Foundation
import HealthSync
import HealthSyncPostgres
import HealthSyncTestSupport
import Logging
import Testing

@testable import HealthSyncCLI

/// Every command on a PostgreSQL URL in `--db` answers exactly as on an SQLite file: the same sequence of commands
/// runs on both, and their outputs, statuses and diagnostics are compared (each with its database's name replaced).
@Suite(.enabled(if: PostgresTestDatabase.isEnabled, PostgresTestDatabase.skipReason))
struct PostgresCommandLineTests {
    static let urn = AuditCLI.snapshotTimersURN

    /// Commands after `healthsync`, without `--db`: a replay of the bundled fixtures, every reading command, then the
    /// writing ones and the readings again.
    static let commands: [[String]] = [
        ["replay", AuditCLI.fixtures + "/scenarios"],
        ["replay", AuditCLI.fixtures + "/scenarios"],
        ["state"],
        ["state", "--format", "json"],
        ["state", "--at", AuditCLI.snapshotTimersUntil, "--urn", urn],
        ["streams"],
        ["streams", "--format", "json"],
        ["status", "--urn", urn],
        ["status", "--urn", urn, "--format", "json"],
        ["history", "--format", "json"],
        ["history", "--urn", urn, "--newest", "--limit", "5"],
        ["diff", "--urn", urn, "--from", "1700000000", "--to", AuditCLI.snapshotTimersUntil],
        ["audit"],
        ["audit", "--format", "json"],
        ["export", "--format", "openmetrics"],
        ["export", "--format", "influx"],
        ["clear-errors", "--urn", urn],
        ["delete", "--urn", "urn:health:fixtures:increments"],
        ["sweep", "--now", "2023-11-28T00:00:00Z", "--dry-run"],
        ["sweep", "--now", "2023-11-28T00:00:00Z"],
        ["state", "--format", "json"],
        ["streams"],
        ["history", "--format", "json"],
    ]

    /// Runs `arguments` with `--db database`, its output and diagnostics with `database` spelled `<db>`.
    static func run(_ arguments: [String], database: String, redacted: String) async throws -> CLIResult {
        var result = try await CLI.run(arguments + ["--db", database])
        for name in [database, redacted] {
            result.output = result.output.replacingOccurrences(of: name, with: "<db>")
            result.errors = result.errors.replacingOccurrences(of: name, with: "<db>")
        }
        return result
    }

    @Test func everyCommandAnswersOnPostgreSQLAsOnSQLite() async throws {
        try await Workspace.with { workspace in
            try await PostgresTestDatabase.withDatabase { url in
                let redacted = DatabaseOptions.displayName(of: url)
                for arguments in Self.commands {
                    let sqlite = try await Self.run(arguments, database: workspace.database, redacted: redacted)
                    let postgres = try await Self.run(arguments, database: url, redacted: redacted)
                    #expect(postgres.status == sqlite.status, "\(arguments): \(postgres.errors)")
                    #expect(postgres.output == sqlite.output, "\(arguments)")
                    #expect(postgres.errors == sqlite.errors, "\(arguments)")
                    #expect(!sqlite.output.isEmpty || arguments.first == "clear-errors", "\(arguments) printed nothing")
                }
            }
        }
    }

    @Test func serveRunsOnTheDatabaseServersClockOnPostgreSQLOnly() async throws {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        try await StoreServices.withServices {
            let clock = await ServeCommand.processorClock(of: try PostgresTestDatabase.makeStore(), logger: logger)
            let server = try #require(clock as? PostgresServerClock)
            #expect(server.lastSample != nil, "sampled before the service listens")
        }
        #expect(await ServeCommand.processorClock(of: InMemoryHealthStore(), logger: logger) is SystemClock)
    }

    @Test func aDatabaseWithoutTheStoresTablesIsReportedNotShownEmpty() async throws {
        try await PostgresTestDatabase.withDatabase { url in
            let redacted = DatabaseOptions.displayName(of: url)
            for command in [["state"], ["streams"], ["history"], ["sweep"], ["delete", "--urn", "urn:a"]] {
                let result = try await CLI.run(command + ["--db", url])
                #expect(result.status == 2, "\(command)")
                #expect(
                    result.errors
                        == "error: no HealthSync tables in database \(redacted) (replay payloads first, or name "
                        + "another with --db)\n", "\(command)")
            }
        }
    }

    @Test func anUnreachableServerIsReportedWithinTheDeadlineWithoutThePassword() async throws {
        // Port 1 on the loopback: nothing listens there, every connection is refused at once.
        let url = "postgres://healthsync:s3cr%40t-password@127.0.0.1:1/healthsync?sslmode=disable"
        let started = ContinuousClock.now
        let result = try await CLI.run(["state", "--db", url])
        // Well before the pool's own minute of retries, with room for a loaded machine to start and stop the process.
        #expect(ContinuousClock.now - started < DatabaseOptions.postgresConnectDeadline + .seconds(30))
        #expect(result.status == 2)
        #expect(
            result.errors.hasPrefix("error: cannot open database postgres://healthsync:***@127.0.0.1:1/healthsync"),
            "\(result.errors)")
        #expect(!result.errors.contains("s3cr"), "the password never appears: \(result.errors)")
    }

    @Test func aBadURLIsReportedWithoutThePassword() async throws {
        let result = try await CLI.run(["streams", "--db", "postgres://u:hunter2@localhost/db?colour=blue"])
        #expect(result.status == 2)
        #expect(result.errors.contains("unknown option 'colour'"), "\(result.errors)")
        #expect(!result.errors.contains("hunter2"), "\(result.errors)")
    }

    @Test func healthsyncDBNamesTheDatabaseWhenDBIsNotGiven() async throws {
        try await Workspace.with { workspace in
            try await PostgresTestDatabase.withDatabase { url in
                let environment = ProcessInfo.processInfo.environment.merging(["HEALTHSYNC_DB": url]) { $1 }
                let replay = try await Executable.run(
                    ["replay", AuditCLI.snapshotTimers], in: workspace.directory, environment: environment)
                #expect(replay.status == 0, "\(replay.errors)")
                let streams = try await Executable.run(["streams"], in: workspace.directory, environment: environment)
                #expect(streams.status == 0, "\(streams.errors)")
                #expect(streams.output.contains(Self.urn))
                // Nothing was written beside the command: the SQLite default was not used.
                #expect(
                    !FileManager.default.fileExists(
                        atPath: workspace.directory.appendingPathComponent(
                            DatabaseOptions.defaultPath
                        ).path))
            }
        }
    }
}

@Suite struct DatabaseLocationTests {
    @Test func theEnvironmentNamesTheDefaultDatabaseUnlessItIsEmpty() {
        #expect(DatabaseOptions.defaultDatabase(environment: [:]) == "healthsync.sqlite")
        #expect(DatabaseOptions.defaultDatabase(environment: ["HEALTHSYNC_DB": ""]) == "healthsync.sqlite")
        #expect(
            DatabaseOptions.defaultDatabase(environment: ["HEALTHSYNC_DB": "/var/lib/h.sqlite"]) == "/var/lib/h.sqlite")
        #expect(
            DatabaseOptions.defaultDatabase(environment: ["HEALTHSYNC_DB": "postgres://h@db/h"]) == "postgres://h@db/h")
    }

    @Test func aURLIsShownWithoutItsPasswordAndAPathAsItIs() {
        #expect(DatabaseOptions.displayName(of: "postgres://u:secret@db:5433/h") == "postgres://u:***@db:5433/h")
        #expect(DatabaseOptions.displayName(of: "POSTGRESQL://u:secret@db/h") == "POSTGRESQL://u:***@db/h")
        #expect(DatabaseOptions.displayName(of: "data/postgres://x") == "data/postgres://x")
    }

    @Test func theHelpShowsNoDefaultThatCouldHoldAPassword() async throws {
        let help = HealthSyncCommand.helpMessage(for: StateCommand.self)
        #expect(help.contains("--db <path-or-url>"))
        #expect(help.contains("default: HEALTHSYNC_DB, else healthsync.sqlite"))
    }
}
