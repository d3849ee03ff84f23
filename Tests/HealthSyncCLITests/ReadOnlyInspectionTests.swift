import Foundation
import HealthSyncTestSupport
import Testing

/// The commands that only inspect a database open it read-only: they work on a file or in a directory the user may
/// not write (a copy handed over for a post-mortem, a service's state directory), and never write it.
///
/// Root writes whatever the mode bits say, so these tests run the built executable as `nobody` through `setpriv`;
/// a file system remounted read-only stops root too, for the commands run in this process.
@Suite struct ReadOnlyInspectionTests {
    /// `setpriv` running the command as `nobody` without supplementary groups.
    static let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    /// The inspection commands and their arguments (after the command name, before `--db`).
    static let inspections: [[String]] = [
        ["streams"],
        ["state", "--urn", "urn:health:a:main"],
        ["status", "--urn", "urn:health:a:main"],
        ["history", "--urn", "urn:health:a:main"],
        ["diff", "--urn", "urn:health:a:main", "--from", "1000", "--to", "1000"],
        ["audit"],
    ]

    /// Whether this process can run another as `nobody`.
    static let canRunAsNobody =
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    @Test(.enabled(if: canRunAsNobody, "needs root and setpriv to run the executable as another user"))
    func inspectionCommandsReadAFileInADirectoryTheUserCannotWrite() async throws {
        try await Workspace.with { workspace in
            let payload = try workspace.write("two.json", Payloads.twoStreams)
            #expect(try await workspace.run("replay", payload).status == 0)
            let fileManager = FileManager.default
            try fileManager.setAttributes([.posixPermissions: 0o444], ofItemAtPath: workspace.database)
            try fileManager.setAttributes([.posixPermissions: 0o555], ofItemAtPath: workspace.directory.path)
            defer {
                try? fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: workspace.directory.path)
            }
            let before = try fileManager.contentsOfDirectory(atPath: workspace.directory.path).sorted()

            for inspection in Self.inspections {
                let result = try await Executable.run(
                    inspection + ["--db", workspace.database], in: workspace.directory, launcher: Self.asNobody)
                #expect(result.status == 0, "\(inspection): \(result.errors)")
                #expect(!result.errors.contains("readonly database"), "\(inspection): \(result.errors)")
            }
            let streams = try await Executable.run(
                ["streams", "--db", workspace.database], in: workspace.directory, launcher: Self.asNobody)
            #expect(streams.output.contains("urn:health:a:main"), "\(streams.output)")
            #expect(streams.output.contains("urn:health:b:ti"), "\(streams.output)")

            // A writer still opens the file for writing, and is refused.
            let replay = try await Executable.run(
                ["replay", payload, "--db", workspace.database], in: workspace.directory, launcher: Self.asNobody)
            #expect(replay.status == 2)
            #expect(replay.errors.contains("cannot open database"), "\(replay.errors)")
            let after = try fileManager.contentsOfDirectory(atPath: workspace.directory.path).sorted()
            #expect(after == before)
        }
    }

    @Test(.enabled(if: canRunAsNobody, "needs root and setpriv to run the executable as another user"))
    func inspectionCommandsReadAReadOnlyFileInAWritableDirectory() async throws {
        try await Workspace.with { workspace in
            let payload = try workspace.write("two.json", Payloads.twoStreams)
            #expect(try await workspace.run("replay", payload).status == 0)
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: workspace.database)
            // Writable by anyone, as a shared scratch directory is: SQLite may create the -wal and -shm there.
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o777], ofItemAtPath: workspace.directory.path)

            for inspection in Self.inspections {
                let result = try await Executable.run(
                    inspection + ["--db", workspace.database], in: workspace.directory, launcher: Self.asNobody)
                #expect(result.status == 0, "\(inspection): \(result.errors)")
            }
        }
    }

    @Test(.enabled(if: TinyFilesystem.isAvailable, "needs permission to mount a tmpfs (root on Linux)"))
    func inspectionCommandsReadADatabaseOnAReadOnlyFileSystem() async throws {
        try await TinyFilesystem.with(megabytes: 4) { directory in
            let database = directory + "/health.sqlite"
            let payload = directory + "/two.json"
            try Data(Payloads.twoStreams.utf8).write(to: URL(fileURLWithPath: payload))
            // In its own process: every descriptor on the file system is closed when it ends, so the remount
            // finds no file open for writing.
            let replay = try await Executable.run(
                ["replay", payload, "--db", database], in: URL(fileURLWithPath: directory))
            #expect(replay.status == 0, "\(replay.errors)")

            try TinyFilesystem.remount(directory, readOnly: true)
            defer { try? TinyFilesystem.remount(directory, readOnly: false) }
            for inspection in Self.inspections {
                let result = try await CLI.run(inspection + ["--db", database])
                #expect(result.status == 0, "\(inspection): \(result.errors)")
            }
            let streams = try await CLI.run(["streams", "--db", database])
            #expect(streams.output.contains("urn:health:b:ti"), "\(streams.output)")
        }
    }
}
