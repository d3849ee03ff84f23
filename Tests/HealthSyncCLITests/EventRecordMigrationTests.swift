import Foundation
import GRDB
import HealthSyncTesting
import Testing

@testable import HealthSyncCLI
@testable import HealthSyncSQLite

/// Schema v3 (issue 19) stores the event record as integer keys of a dictionary of texts. A database written at v2
/// (texts in every event row) is converted in place when opened for writing, and answers every question of the
/// record exactly as one written at v3 from the start: the same `event` rows, column for column and sequence for
/// sequence, and the same `history`, `state --at`, `diff` and `audit`.
@Suite struct EventRecordMigrationTests {
    /// What the operators' commands print of a database.
    struct Readings: Equatable, CustomStringConvertible {
        var history: String
        var stateAt: String
        var diff: String
        var audit: String
        var state: String

        var description: String { "history:\n\(history)\nstate --at:\n\(stateAt)\ndiff:\n\(diff)\naudit:\n\(audit)" }
    }

    /// Reads `database` (the exit status, output and errors of each command) with `history`, `state --at` the middle event's time, `diff` of the first stream between its
    /// first and last event, `audit --format json` and `state`.
    static func readings(
        of database: String, middle: String, first: String, last: String, urn: String
    )
        async throws -> Readings
    {
        func run(_ arguments: String...) async throws -> String {
            let result = try await CLI.run(Array(arguments) + ["--db", database])
            // The audit names the database it read.
            let name = URL(fileURLWithPath: database).lastPathComponent
            return "status \(result.status)\n\(result.output)\(result.errors)"
                .replacingOccurrences(of: database, with: "DATABASE").replacingOccurrences(of: name, with: "DATABASE")
        }
        return Readings(
            history: try await run("history", "--format", "json"),
            stateAt: try await run("state", "--format", "json", "--at", middle),
            diff: try await run("diff", "--format", "json", "--urn", urn, "--from", first, "--to", last),
            audit: try await run("audit", "--format", "json"),
            state: try await run("state", "--format", "json"))
    }

    /// Every row of the `event` table (v2) or view (v3), oldest sequence first, every column.
    static func eventRows(of path: String) throws -> [[DatabaseValue]] {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event ORDER BY sequence").map { Array($0.databaseValues) }
        }
    }

    /// Writes `path` at schema v2 holding exactly what the database `source` (at the current schema) holds, its events
    /// as text rows.
    static func writeVersion2Copy(of source: String, to path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try SQLiteHealthStore.migrator.migrate(queue, upTo: "v2")
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [source])
            try db.inTransaction {
                for table in ["stream", "subStream", "event", "processorState", "receipt"] {
                    // The columns of v2 (the source has schema v4's refresh columns besides).
                    let columns = try String.fetchAll(
                        db, sql: "SELECT name FROM pragma_table_info(?, 'main')", arguments: [table]
                    ).joined(separator: ", ")
                    try db.execute(sql: "INSERT INTO main.\(table) SELECT \(columns) FROM source.\(table)")
                }
                // Each check state at its time and sequence, its sub-stream's refresh resolved (schema v4).
                let refreshed = "c.refreshVersion < s.refreshVersion"
                try db.execute(
                    sql: """
                        INSERT INTO main.checkState SELECT c.urn, c.subStreamId, c.checkStateId, c.name, c.health,
                            c.topologyElementIdentifier, c.message,
                            CASE WHEN \(refreshed) THEN s.refreshedAt ELSE c.lastSeenAt END,
                            CASE WHEN \(refreshed) THEN s.refreshedSequence ELSE c.snapshotSequence END,
                            c.livenessInterval, c.livenessGrace, c.silencedAt
                        FROM source.checkState AS c LEFT JOIN source.subStream AS s USING (urn, subStreamId)
                        """)
                // Without the generated column.
                let columns = "urn, subStreamId, streamLevel, code, level, message, count, firstSeenAt, lastSeenAt"
                try db.execute(
                    sql: "INSERT INTO main.streamError (\(columns)) SELECT \(columns) FROM source.streamError")
                return .commit
            }
            try db.execute(sql: "DETACH DATABASE source")
        }
    }

    @Test(arguments: ["scenarios", "audit", "capture"])
    func aVersion2DatabaseAnswersAsOneWrittenAtVersion3(source: String) async throws {
        try await Workspace.with { workspace in
            let input =
                source == "capture"
                ? try workspace.write("capture.jsonl", ReplayBatchDifferentialTests.capture())
                : AuditCLI.fixtures + "/" + source
            let native = workspace.database
            _ = try await CLI.run(["replay", input, "--db", native])
            let old = workspace.directory.appendingPathComponent("v2.sqlite").path
            try Self.writeVersion2Copy(of: native, to: old)
            let rows = try Self.eventRows(of: old)
            #expect(rows.count > 20, "the \(source) replay wrote \(rows.count) events")
            #expect(rows == (try Self.eventRows(of: native)))

            // Opening the file for writing converts it.
            #expect(try await SQLiteHealthStore(path: old).appliedMigrations() == ["v1", "v2", "v3", "v4"])
            #expect(try Self.eventRows(of: old) == rows, "the converted record lost or changed an event")

            let times = rows.compactMap { Double.fromDatabaseValue($0[1]) }.map { String(format: "%.3f", $0) }
            let urn = try #require(rows.first.flatMap { String.fromDatabaseValue($0[3]) })
            let (first, middle, last) = (times[0], times[times.count / 2], times[times.count - 1])
            let expected = try await Self.readings(of: native, middle: middle, first: first, last: last, urn: urn)
            #expect(expected.history.hasPrefix("status 0\n") && expected.history.contains("\"sequence\""))
            let converted = try await Self.readings(of: old, middle: middle, first: first, last: last, urn: urn)
            #expect(converted == expected)

            // Both go on alike: new events follow the converted sequences.
            let more = try workspace.write(
                "more.jsonl",
                Payload.envelope(
                    at: 1_900_000_000,
                    [Payload.snapshot(urn, states: [Payload.checkState("after", health: "CRITICAL")])]) + "\n")
            for database in [native, old] {
                let replay = try await CLI.run(["replay", more, "--db", database])
                #expect(replay.status == 0, "\(replay.errors)")
            }
            #expect(try Self.eventRows(of: old) == (try Self.eventRows(of: native)))
        }
    }

    /// `Fixtures/databases/v2-scenarios.sqlite` was written by the release before schema v3 (`273eba6`:
    /// `healthsync replay Fixtures/scenarios`), and the `.expected` files beside it are what that release's
    /// `history --format json` and `state --format json` printed of it. `v3-scenarios.sqlite` was written the same
    /// way by the release before schema v4 (`720a418`), which printed the same of it.
    @Test(arguments: [["v1", "v2"], ["v1", "v2", "v3"]])
    func aDatabaseWrittenByAPreviousReleaseAnswersAsThatReleaseDid(migrations: [String]) async throws {
        let fixtures = AuditCLI.fixtures + "/databases/"
        try await Workspace.with { workspace in
            let database = workspace.database
            let file = "\(migrations.last ?? "")-scenarios.sqlite"
            try FileManager.default.copyItem(atPath: fixtures + file, toPath: database)
            let before = try await DatabaseQueue(path: database).read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            }
            #expect(before == migrations)
            #expect(try await SQLiteHealthStore(path: database).appliedMigrations() == ["v1", "v2", "v3", "v4"])
            for command in ["history", "state"] {
                let result = try await CLI.run([command, "--format", "json", "--db", database])
                let expected = try String(
                    contentsOfFile: fixtures + "v2-scenarios.\(command).expected", encoding: .utf8)
                #expect(result.status == 0, "\(command): \(result.errors)")
                #expect(result.output == expected, "\(command) printed otherwise than the previous release")
            }
        }
    }
}
