import ArgumentParser
import Foundation
import HealthSync
import HealthSyncSQLite

/// `--db PATH`: the one place where commands open their store.
///
/// Commands that need the database without this option group (`audit`, whose `--db` excludes payload files) call
/// the static ``openStore(at:creating:readOnly:console:cache:)``: an option group built by hand has no parsed values, and
/// reading its properties is a fatal error of the argument parser.
struct DatabaseOptions: ParsableArguments {
    /// The database used without `--db`.
    static let defaultPath = "healthsync.sqlite"

    @Option(name: .long, help: ArgumentHelp("The database file.", valueName: "path"))
    var db = DatabaseOptions.defaultPath

    /// Opens the database.
    /// - Parameters:
    ///   - creating: create the file when it does not exist (replay); otherwise a missing file is an error, so a
    ///     mistyped `--db` is reported instead of showing an empty database.
    ///   - readOnly: open the file without writing it (the commands that only inspect): it may be a read-only file
    ///     or in a read-only directory, and every commit fails.
    ///   - console: where a failure is reported.
    ///   - cache: the context cache's capacity (``CacheOptions``); the store's default when `nil`.
    /// - Throws: `ExitCode(2)` after printing why the database cannot be opened.
    func openStore(
        creating: Bool, readOnly: Bool = false, console: Console, cache: CacheOptions? = nil
    ) throws -> any HealthStoreQueries & HealthStoreRetention {
        try Self.openStore(at: db, creating: creating, readOnly: readOnly, console: console, cache: cache)
    }

    /// Takes the writer lock of the database (``WriterLock``) for `command`, then opens the database for writing.
    /// The caller keeps the lock for as long as it writes; a second writer fails at once.
    /// - Throws: `ExitCode(2)` after printing who holds the lock or why the database cannot be opened.
    func openWriter(
        command: String, creating: Bool, console: Console, cache: CacheOptions? = nil
    ) throws -> (store: any HealthStoreQueries & HealthStoreRetention, lock: WriterLock) {
        try Self.checkPath(db, creating: creating, console: console)
        let lock = try WriterLock.acquire(database: db, command: command, console: console)
        let store = try Self.openStore(at: db, creating: creating, console: console, cache: cache)
        return (store, lock)
    }

    /// Opens the database at `db`, as ``openStore(creating:readOnly:console:cache:)`` does.
    /// - Throws: `ExitCode(2)` after printing why the database cannot be opened.
    static func openStore(
        at db: String, creating: Bool, readOnly: Bool = false, console: Console, cache: CacheOptions? = nil
    ) throws -> any HealthStoreQueries & HealthStoreRetention {
        try checkPath(db, creating: creating, console: console)
        do {
            return try SQLiteHealthStore(
                path: db,
                readOnly: readOnly,
                contextCacheCapacity: cache?.contextCache ?? SQLiteHealthStore.defaultContextCacheCapacity
            )
        } catch {
            console.printError("error: cannot open database \(db): \(error)")
            throw ExitCode(2)
        }
    }

    /// Refuses a path whose directory is missing, that names a directory, or (unless `creating`) that is missing.
    /// - Throws: `ExitCode(2)` after printing why.
    static func checkPath(_ db: String, creating: Bool, console: Console) throws {
        let fileManager = FileManager.default
        let url = URL(fileURLWithPath: db)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            console.printError("error: cannot open database \(db): directory \(directory) does not exist")
            throw ExitCode(2)
        }
        var databaseIsDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: db, isDirectory: &databaseIsDirectory), databaseIsDirectory.boolValue {
            let example = url.appendingPathComponent(defaultPath).path
            console.printError(
                "error: cannot open database \(db): it is a directory; --db names the database file (such as \(example))"
            )
            throw ExitCode(2)
        }
        if !creating, !fileManager.fileExists(atPath: db) {
            console.printError("error: no database at \(db) (replay payloads first, or name another with --db)")
            throw ExitCode(2)
        }
    }
}

/// `--context-cache N`: for the commands that process messages (`replay`, `serve`).
struct CacheOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "How many check states of the streams lately written to keep in memory, so that their next messages "
                + "read nothing from the database (about 500 to 700 bytes each); 0 turns the cache off.",
            valueName: "count")
    )
    var contextCache = SQLiteHealthStore.defaultContextCacheCapacity

    func validate() throws {
        guard contextCache >= 0 else { throw ValidationError("--context-cache must be 0 or more.") }
    }
}
