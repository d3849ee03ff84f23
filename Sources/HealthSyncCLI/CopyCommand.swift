import ArgumentParser
import Foundation
import HealthSync
import HealthSyncPostgres
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `healthsync copy`: copies a whole store into an empty database, between SQLite files and PostgreSQL databases:
/// how a user moves from one machine to many (SQLite to PostgreSQL) and back.
struct CopyCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a whole store into an empty database: SQLite to PostgreSQL, back, or between two of a kind.",
        discussion: """
            Everything is copied as stored: streams, sub-streams with their open snapshots, deadlines and counters, \
            check states (and which of them an open snapshot has seen), open errors, events with their sequence \
            numbers, receipts (replay receipts and Idempotency-Keys) and the clock. The destination is written in \
            one transaction: it ends holding the whole copy, or, when anything fails, nothing. A destination that \
            holds anything is refused (exit status 1). A missing SQLite file is created; a PostgreSQL database gets \
            the store's tables.

            Stop the writers of the source first (serve, replay, sweep): a SQLite source's writer lock is taken for \
            the copy, and a copy during which the source's clock moved fails. The destination's writers wait for the \
            copy, or fail. Progress goes to standard error, the summary to standard output.
            """
    )

    @Option(
        help: ArgumentHelp(
            "The database to copy: a file, or a PostgreSQL URL (postgres://user:password@host:port/database).",
            valueName: "path-or-url"))
    var from: String

    @Option(
        help: ArgumentHelp(
            "The empty database to copy into: a file (created if missing), or a PostgreSQL URL.",
            valueName: "path-or-url"))
    var to: String

    @Option(help: ArgumentHelp("Rows of one kind read and written at a time.", valueName: "count"))
    var pageSize = 5_000

    func validate() throws {
        guard pageSize >= 1 else { throw ValidationError("--page-size must be at least 1.") }
        if Self.sameDatabase(from, to) {
            throw ValidationError(
                "--from and --to name the same database (\(DatabaseOptions.displayName(of: from))).")
        }
    }

    /// Whether `a` and `b` name one database: the same PostgreSQL URL but for its password, or the same file (through
    /// symbolic links, when it exists).
    static func sameDatabase(_ a: String, _ b: String) -> Bool {
        let (aIsURL, bIsURL) = (PostgresDatabaseURL.isPostgresURL(a), PostgresDatabaseURL.isPostgresURL(b))
        guard aIsURL == bIsURL else { return false }
        if aIsURL { return DatabaseOptions.displayName(of: a) == DatabaseOptions.displayName(of: b) }
        func resolved(_ path: String) -> String {
            URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        }
        return resolved(a) == resolved(b)
    }

    func execute(console: Console) async throws {
        let (fromName, toName) = (DatabaseOptions.displayName(of: from), DatabaseOptions.displayName(of: to))
        // The source's writer lock keeps its SQLite writers out while it is read; its readers go on.
        var sourceLock = WriterLock.none
        if !PostgresDatabaseURL.isPostgresURL(from) {
            try DatabaseOptions.checkPath(from, creating: false, console: console)
            sourceLock = try WriterLock.acquire(database: from, command: "copy", console: console)
        }
        defer { withExtendedLifetime(sourceLock) {} }
        let source = try await DatabaseOptions.openStore(at: from, creating: false, readOnly: true, console: console)
        let (destination, lock) = try await DatabaseOptions.openWriter(
            at: to, command: "copy", creating: true, console: console)
        defer { DatabaseOptions.close(destination, releasing: lock, console: console) }
        guard let source = source as? any HealthStoreTransfer,
            let destination = destination as? any HealthStoreTransfer
        else {
            console.printError("error: this store cannot be copied (it does not adopt HealthStoreTransfer)")
            throw ExitCode(2)
        }
        if !(try await destination.isEmpty()) {
            let streams = try await destination.streams().count
            let holds =
                streams > 0
                ? ReplayCommand.plural(streams, "stream") : "events, receipts or a clock, and no stream"
            console.printError(
                "error: \(toName) holds \(holds): copy needs an empty store; name another --to, or empty it first")
            throw ExitCode(1)
        }
        // A bulk load: a SQLite destination builds its event index once, at the end (runs before the close).
        let deferredIndex = DatabaseOptions.deferEventIndexForBulkLoad(of: destination, console: console)
        defer { if deferredIndex { DatabaseOptions.buildEventIndex(of: destination, console: console) } }
        let progress = CopyProgress(console: console)
        let started = ContinuousClock.now
        let counts: TransferCounts
        do {
            counts = try await destination.copy(from: source, pageSize: pageSize, progress: progress.update)
        } catch let error as StorageError {
            progress.end()
            if error.code == .conflict {
                // Another writer got into the destination first, or the source was written during the copy.
                console.printError("error: nothing was copied: \(error.message)")
                throw ExitCode(1)
            }
            console.printError("error: nothing was copied into \(toName): \(error)")
            throw ExitCode(2)
        }
        progress.end()
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate =
            seconds > 0 && counts.events > 0 ? String(format: ", %.0f events/s", Double(counts.events) / seconds) : ""
        console.print(
            "copied \(Self.describe(counts)) from \(fromName) to \(toName) in \(String(format: "%.2f", seconds)) s\(rate)"
        )
    }

    /// `12 streams, 40 sub-streams, 4000 check states, 3 errors, 120000 events and 30 receipts`.
    static func describe(_ counts: TransferCounts) -> String {
        let parts = [
            ReplayCommand.plural(counts.streams, "stream"), ReplayCommand.plural(counts.subStreams, "sub-stream"),
            ReplayCommand.plural(counts.checkStates, "check state"), ReplayCommand.plural(counts.errors, "error"),
            ReplayCommand.plural(counts.events, "event"),
        ]
        return parts.joined(separator: ", ") + " and " + ReplayCommand.plural(counts.receipts, "receipt")
    }
}

/// The progress of a copy on standard error: on a terminal, one line redrawn at most twice a second; elsewhere (a log
/// file, a pipe), a line for every ``lineEvery`` events copied.
final class CopyProgress: Sendable {
    /// How many events a progress line stands for off a terminal.
    static let lineEvery = 100_000

    private let console: Console
    private let terminal: Bool
    private let state = Mutex<(last: ContinuousClock.Instant?, shown: Bool, events: Int)>((nil, false, 0))

    init(console: Console) {
        self.console = console
        self.terminal = console.errors is FileHandleOutput && isatty(STDERR_FILENO) == 1
    }

    /// Reports `counts`, the totals after a page.
    func update(_ counts: TransferCounts) {
        let now = ContinuousClock.now
        let terminal = self.terminal
        let draw = state.withLock { state in
            if terminal {
                if let last = state.last, now - last < .milliseconds(500) { return false }
                state.last = now
                state.shown = true
                return true
            }
            let step = counts.events / Self.lineEvery
            guard step > state.events / Self.lineEvery else { return false }
            state.events = counts.events
            return true
        }
        guard draw else { return }
        if terminal {
            console.errors.write("\r\u{1B}[2Kcopy: \(CopyCommand.describe(counts)) so far")
        } else {
            console.printError("copy: \(CopyCommand.describe(counts)) so far")
        }
    }

    /// Ends the line, if one was drawn on a terminal.
    func end() {
        guard terminal, state.withLock({ $0.shown }) else { return }
        console.errors.write("\n")
    }
}
