import ArgumentParser
import HealthSync
import HealthSyncSQLite

/// `healthsync`: replays StackState health payloads into a database and inspects the result.
@main
struct HealthSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthsync",
        abstract: "Replay StackState health-synchronization payloads and inspect the resulting health state.",
        discussion: """
            The database is healthsync.sqlite in the current directory unless --db names another. \
            TIME arguments take epoch seconds (1548857167, 1548857167.5) or ISO-8601 \
            (2019-01-30T14:06:07Z, 2019-01-30T15:06:07.5+01:00), from 0 to 253402300799 (9999-12-31T23:59:59Z).
            """,
        version: "healthsync \(HealthSyncCommand.version)",
        subcommands: [
            ReplayCommand.self,
            StateCommand.self,
            StreamsCommand.self,
            StatusCommand.self,
            DeleteCommand.self,
            ClearErrorsCommand.self,
            SweepCommand.self,
            CopyCommand.self,
            ServeCommand.self,
            HistoryCommand.self,
            DiffCommand.self,
            AuditCommand.self,
            ExportCommand.self,
        ]
    )

    /// The version `healthsync --version` prints.
    static let version = "0.1.0"

    /// The exit status for usage errors (the parser's own default is 64).
    static let usageFailure = ExitCode(2)

    /// Runs the command line, exiting 2 on usage errors instead of ArgumentParser's 64.
    static func main() async {
        // Before any database is opened (SQLite takes it only then): no process-wide mutex around SQLite's
        // allocations, which the command line has no use for.
        SQLiteHealthStore.turnOffMemoryStatistics()
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let status = exitStatus(for: error)
            if status != exitCode(for: error) {
                // A usage error: reported as the parser reports it, with exit status 2.
                Console.standard.printError(fullMessage(for: error))
                exit(withError: status)
            }
            exit(withError: error)
        }
    }

    /// The exit status `main()` uses for `error`: ``usageFailure`` for usage errors, else the parser's.
    static func exitStatus(for error: any Error) -> ExitCode {
        let code = exitCode(for: error)
        return code == .validationFailure ? usageFailure : code
    }
}

/// A subcommand that prints through a ``Console``, so tests can run it with captured output.
protocol ConsoleCommand: AsyncParsableCommand {
    /// Does the work, printing to `console`.
    /// - Throws: `ExitCode` after printing a message to `console.errors`, `ValidationError` for bad arguments,
    ///   ``StorageError`` when the database fails.
    func execute(console: Console) async throws
}

extension ConsoleCommand {
    /// Runs the command with `console`, and the services of the stores it opens (``StoreServices``) beside it; a
    /// storage failure is printed and becomes exit status 2.
    func run(console: Console) async throws {
        do {
            try await StoreServices.withServices { try await execute(console: console) }
        } catch let error as StorageError {
            console.printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    mutating func run() async throws {
        try await run(console: .standard)
    }
}
