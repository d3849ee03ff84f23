import Foundation
internal import GRDB
internal import GRDBSQLite
import HealthSync

/// A ``HealthSync/HealthStore`` in an SQLite database, through GRDB.
///
/// On disk the store uses a WAL-mode connection pool: reads run concurrently with the single writer, and each
/// ``commit(_:)`` is one `IMMEDIATE` transaction. With the default ``Durability/full`` a commit is on stable
/// storage when it returns, which is what lets an intake acknowledge an envelope only once it is durable.
///
/// ```swift
/// let store = try SQLiteHealthStore(path: "/var/lib/healthsync/health.sqlite")
/// let processor = HealthProcessor(store: store)
/// ```
///
/// The schema is created and migrated when the store is opened (see ``migrations`` and ``schemaVersion``).
/// Times are stored as REAL seconds since 1970. A `Date` made from epoch seconds, such as a collection
/// timestamp, reads back exactly; any other `Date` reads back within one unit in the last place of its epoch
/// seconds (about 0.24 µs until 2038).
///
/// Every method throws ``HealthSync/StorageError`` only: SQLite failures are mapped to its codes
/// (`SQLITE_FULL` to ``HealthSync/StorageError/Code/full``, `SQLITE_READONLY` to
/// ``HealthSync/StorageError/Code/readOnly``, `SQLITE_CORRUPT` and `SQLITE_NOTADB` to
/// ``HealthSync/StorageError/Code/corrupt``, `SQLITE_CANTOPEN`, I/O errors of reads and writes
/// (`SQLITE_IOERR_READ`, `SQLITE_IOERR_WRITE` and the like) and locks held past the busy timeout to
/// ``HealthSync/StorageError/Code/unavailable``,
/// anything else to ``HealthSync/StorageError/Code/failed``), with the SQLite message kept in
/// ``HealthSync/StorageError/message``.
public struct SQLiteHealthStore: HealthStore {
    /// How hard a commit works to survive a power loss.
    public enum Durability: Sendable, Hashable {
        /// `PRAGMA synchronous = FULL`: the write-ahead log is synced on every commit, so a commit that returned
        /// survives a crash of the process *and* a power loss or kernel panic. The default.
        case full
        /// `PRAGMA synchronous = NORMAL`: the log is synced only at checkpoints. A commit that returned survives
        /// a crash of the process, but the latest commits may roll back on a power loss. Faster; use it when the
        /// sources resend what was not acknowledged, never when an acknowledgement must mean durable.
        case normal
    }

    /// Where the data lives.
    let writer: any DatabaseWriter

    /// The contexts lately committed or read, answering the processor's reads without SQL; `nil` when disabled (and
    /// in a snapshot's view).
    var cache: ContextCache?

    /// The keys of the event texts the writer knows (schema v3's dictionary), shared by the copies of the store.
    let eventTexts = EventTexts()

    /// How many write transactions wait for a task to feed them (commit streams, loads), shared by the copies of the
    /// store: ``commit(_:)`` writes on its caller's thread only while there are none.
    let taskFed = TaskFedTransactions()

    /// In a snapshot's view (``withSnapshot(_:)``), the connection holding the snapshot every read runs on; `nil` otherwise.
    var snapshot: (any DatabaseReader)?

    /// The files opened on disk, for ``checkFile()`` and ``probe()``; `nil` in memory.
    let files: DatabaseFiles?

    /// The default of `contextCacheCapacity`: a few hundred streams of a hundred check states, about 10 to 15 MB.
    public static let defaultContextCacheCapacity = 20_000

    /// Opens (creating it if needed) the database file at `path`, and migrates its schema to ``schemaVersion``.
    ///
    /// - Parameters:
    ///   - path: The database file. Its directory must exist; SQLite creates `-wal` and `-shm` files next to it.
    ///   - durability: What a returned commit survives; ``Durability/full`` by default.
    ///   - readOnly: Opens the file without write access, for reporting on a live database: every
    ///     ``commit(_:)`` fails with ``HealthSync/StorageError/Code/readOnly``. The file must exist and already
    ///     be at ``schemaVersion``; it may be a file or in a directory this process cannot write (when the `-shm`
    ///     cannot be created either, the file is read `immutable` if its `-wal` is empty, and refused otherwise).
    ///   - contextCacheCapacity: How many check states (and stream, sub-stream and error records) the store keeps in
    ///     memory of the streams it lately committed or read, so that processing the next message of such a
    ///     stream reads nothing from the file; `0` turns the cache off (a read-only store has none). The cache is
    ///     exact: it follows every commit, and another process's commits empty it (Docs/storage.md).
    /// - Throws: ``HealthSync/StorageError``: ``HealthSync/StorageError/Code/unavailable`` when the file cannot be
    ///   opened or created, ``HealthSync/StorageError/Code/corrupt`` when it is not an SQLite database,
    ///   ``HealthSync/StorageError/Code/readOnly`` when it cannot be written, and
    ///   ``HealthSync/StorageError/Code/failed`` when its schema is newer than this version or a migration fails.
    public init(
        path: String,
        durability: Durability = .full,
        readOnly: Bool = false,
        contextCacheCapacity: Int = defaultContextCacheCapacity
    ) throws(StorageError) {
        try self.init(
            path: path, durability: durability, readOnly: readOnly, contextCacheCapacity: contextCacheCapacity,
            isWritable: DatabaseFiles.accessWritable)
    }

    /// ``init(path:durability:readOnly:contextCacheCapacity:)`` with the check of a path's writability given, for
    /// tests of what cannot be staged (root writes a file whatever its mode bits).
    init(
        path: String,
        durability: Durability = .full,
        readOnly: Bool = false,
        contextCacheCapacity: Int = defaultContextCacheCapacity,
        isWritable: @escaping @Sendable (String) -> Bool
    ) throws(StorageError) {
        let shm = path + "-shm"
        if !readOnly, FileManager.default.fileExists(atPath: shm), !isWritable(shm) {
            // SQLite maps the WAL index; a write to a mapping it may not write kills the process (SIGBUS).
            throw StorageError(
                code: .readOnly,
                message: "\(shm) (the WAL index) cannot be written (immutable, or a read-only file system): "
                    + "writing would kill the process with SIGBUS; make it writable (chattr -i) and start again")
        }
        let pool: any DatabaseWriter
        if readOnly {
            pool = try Self.openReadOnly(path: path)
        } else {
            do {
                pool = try DatabasePool(path: path, configuration: Self.configuration())
            } catch {
                throw Self.storageError(error, while: "opening \(path)")
            }
        }
        if !readOnly {
            let writable: Bool
            do {
                // GRDB sets NORMAL when it enables WAL; synchronous is per connection, and only the writer's counts.
                let synchronous = durability == .full ? "FULL" : "NORMAL"
                writable = try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                    // SQLite quietly opens a file it may not write (a read-only file system) read-only.
                    return sqlite3_db_readonly(db.sqliteConnection, "main") == 0
                }
            } catch {
                throw Self.storageError(error, while: "configuring \(path)")
            }
            guard writable else {
                throw StorageError(
                    code: .readOnly, message: "\(path) cannot be written (read-only file or file system)")
            }
        }
        let files: DatabaseFiles
        do {
            // A read opens the -wal and the -shm, which SQLite keeps while a connection is open.
            let pageSize = try pool.read { db in
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                return try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            }
            guard case .success(let database) = DatabaseFiles.identity(of: path) else {
                throw StorageError(code: .unavailable, message: "\(path) cannot be examined after opening it")
            }
            let companions = ["-wal", "-shm"].compactMap { suffix -> (String, DatabaseFiles.Identity)? in
                guard case .success(let identity) = DatabaseFiles.identity(of: path + suffix) else { return nil }
                return (suffix, identity)
            }
            files = DatabaseFiles(
                path: path, database: database, companions: companions, pageSize: pageSize, readOnly: readOnly,
                isWritable: isWritable)
        } catch {
            throw Self.storageError(error, while: "opening \(path)")
        }
        try self.init(
            writer: pool, readOnly: readOnly, name: path, contextCacheCapacity: readOnly ? 0 : contextCacheCapacity,
            files: files)
        if !readOnly { try checkFile() }
    }

    /// Creates an empty store in memory, for tests: nothing is written to disk and the data goes with the store.
    /// - Parameter contextCacheCapacity: as for ``init(path:durability:readOnly:contextCacheCapacity:)``.
    /// - Throws: ``HealthSync/StorageError`` if SQLite cannot create the database.
    public static func inMemory(
        contextCacheCapacity: Int = defaultContextCacheCapacity
    ) throws(StorageError) -> SQLiteHealthStore {
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(configuration: configuration())
        } catch {
            throw storageError(error, while: "creating an in-memory database")
        }
        return try SQLiteHealthStore(
            writer: queue, readOnly: false, name: "in-memory database", contextCacheCapacity: contextCacheCapacity)
    }

    /// Wraps a writer and brings its schema up to date (or, read-only, checks that it is).
    init(
        writer: any DatabaseWriter, readOnly: Bool, name: String, contextCacheCapacity: Int,
        files: DatabaseFiles? = nil
    ) throws(StorageError) {
        self.writer = writer
        self.files = files
        self.cache = contextCacheCapacity > 0 ? ContextCache(capacity: contextCacheCapacity) : nil
        do {
            let (superseded, completed, applied, hasEventIndex) = try writer.read { db in
                (
                    try Self.migrator.hasBeenSuperseded(db),
                    try Self.migrator.hasCompletedMigrations(db),
                    try Self.migrator.appliedMigrations(db),
                    try Self.hasEventStreamIndex(db)
                )
            }
            if superseded {
                throw StorageError(
                    code: .failed,
                    message: "\(name) has schema migrations \(applied) that this version (\(Self.schemaVersion)) "
                        + "does not know: it was written by a newer version"
                )
            }
            if readOnly {
                guard completed else {
                    throw StorageError(
                        code: .failed,
                        message: "\(name) is at schema \(applied.last ?? "none"), not \(Self.schemaVersion); "
                            + "open it for writing once to migrate it"
                    )
                }
            } else {
                if !completed { try Self.migrator.migrate(writer) }
                if !hasEventIndex {
                    // A bulk load killed before it built its deferred index back (SQLiteHealthStore+BulkLoad.swift).
                    // In a file just created or migrated, the build finds the migrations' index and does nothing.
                    try writer.write { db in try Self.buildEventStreamIndex(db) }
                }
            }
        } catch {
            throw Self.storageError(error, while: "migrating \(name)")
        }
        if let cache {
            // The writer connection's data version as the cache starts empty: a commit of another connection after
            // this moves it, even one made before the first commit of this store.
            do {
                let version = try writer.writeWithoutTransaction { db in
                    cache.observe(db)
                    return try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0
                }
                _ = cache.noteDataVersion(version)
            } catch {
                throw Self.storageError(error, while: "opening \(name)")
            }
        }
    }

    /// Opens `path` for reading only, on one connection that never writes the file: no WAL set-up and no probe
    /// write (a `DatabasePool` writes both, and fails on a file it may not write).
    ///
    /// SQLite reads a WAL database read-only when its `-shm` (the WAL index) exists or can be created. When neither
    /// holds (a read-only directory, a read-only file system) and the `-wal` holds no commits, nothing but the
    /// database file has content, and it is opened `immutable=1`: SQLite reads it without locks or a WAL index.
    /// A non-empty `-wal` whose index cannot be created is refused: reading without it would miss its commits.
    static func openReadOnly(path: String) throws(StorageError) -> DatabaseQueue {
        var configuration = Self.configuration()
        configuration.readonly = true
        do {
            return try DatabaseQueue(path: path, configuration: configuration)
        } catch let error as DatabaseError
            where [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode)
            && FileManager.default.fileExists(atPath: path)
        {
            // The -wal or -shm cannot be created: read the file alone, below, if that is all there is.
        } catch {
            throw Self.storageError(error, while: "opening \(path)")
        }
        let wal = path + "-wal"
        let walSize = (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? NSNumber)?.intValue ?? 0
        guard walSize == 0 else {
            throw StorageError(
                code: .readOnly,
                message: "\(path) cannot be read: \(wal) holds commits not yet in the database file, and its WAL "
                    + "index \(path)-shm cannot be created (read-only directory or file system); open it once "
                    + "where the directory can be written, or as a user who may write it")
        }
        guard sqlite3_compileoption_used("USE_URI") != 0 else {
            throw StorageError(
                code: .readOnly,
                message: "\(path) cannot be read: its WAL index \(path)-shm cannot be created (read-only directory "
                    + "or file system), and this SQLite does not take the URI that opens a file immutable")
        }
        var uri = URLComponents()
        uri.scheme = "file"
        uri.path = URL(fileURLWithPath: path).standardizedFileURL.path
        uri.queryItems = [URLQueryItem(name: "immutable", value: "1")]
        do {
            return try DatabaseQueue(path: uri.string ?? path, configuration: configuration)
        } catch {
            throw Self.storageError(error, while: "opening \(path) read-only")
        }
    }

    /// The connection settings: foreign keys on, a 5 s busy timeout for other processes' locks.
    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.label = "HealthSync"
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        return configuration
    }

    /// The identifiers of the migrations applied to this database, oldest first.
    /// - Throws: ``HealthSync/StorageError``.
    public func appliedMigrations() async throws(StorageError) -> [String] {
        try await read("reading the applied migrations") { db in try Self.migrator.appliedMigrations(db) }
    }

    /// Closes the database now, instead of when the last copy of the store goes away: the reader connections first,
    /// then the writer's, whose close, as the file's last connection in this process, checkpoints the write-ahead log
    /// into the file and deletes the `-wal` and `-shm` (unless another process has the file open).
    ///
    /// A command that wrote calls it before it returns, so that the files it leaves are settled when it exits: a copy
    /// of the store still held elsewhere would otherwise close later, or never, when the process ends first, and
    /// leave a `-wal` that a read-only file system cannot replay. Every use of the store afterwards fails.
    /// - Throws: ``HealthSync/StorageError`` when a connection cannot be closed (the store stays usable then).
    public func close() throws(StorageError) {
        do {
            // Idle reader connections close at once; a read-only reader cannot checkpoint, so the writer's must be
            // the last.
            (writer as? DatabasePool)?.releaseMemory()
            try writer.close()
        } catch {
            throw Self.storageError(error, while: "closing \(writer.path)")
        }
    }

    // MARK: Access

    /// Runs `body` in one read transaction, mapping every failure to a ``StorageError``.
    func read<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StorageError) -> T {
        do {
            if let snapshot { return try await snapshot.read(body) }
            return try await writer.read(body)
        } catch {
            throw Self.storageError(error, while: what())
        }
    }

    /// Runs `body` in one read (`DEFERRED`) transaction on the writer connection, mapping every failure to a
    /// ``StorageError``: for the processor's reads, whose page cache then survives the store's own commits.
    ///
    /// The transaction takes no write lock: it sees what is committed, by any connection or process, when it
    /// starts. It waits for this store's current write to finish, and the store's readers are left to other calls.
    /// Like ``commit(_:)``, it runs on the calling thread unless a commit stream or a load is open.
    func readOnWriter<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StorageError) -> T {
        if snapshot != nil { return try await read(what(), body) }
        let transaction: @Sendable (Database) throws -> T = { db in
            var value: T?
            try db.inTransaction(.deferred) {
                value = try body(db)
                return .commit
            }
            guard let value else { throw StorageError(code: .failed, message: "a read returned nothing") }
            return value
        }
        do {
            if taskFed.none { return try onCallersThread(transaction) }
            return try await writer.writeWithoutTransaction(transaction)
        } catch {
            throw Self.storageError(error, while: what())
        }
    }

    /// Runs `body` in one write transaction on the calling thread, which it blocks until the transaction ends (and
    /// while the writer finishes the writes queued before it), mapping every failure to a ``StorageError``.
    ///
    /// GRDB's `async` writes hop to the writer's queue and back: two thread wake-ups a transaction. This one does not
    /// (`DispatchQueue.sync` runs the block on the caller's thread). It must never wait for a writer that waits for
    /// a task: ``commit(_:)`` calls it only while no commit stream or load is open (``TaskFedTransactions``).
    func writeOnCallersThread<T>(
        _ what: @autoclosure () -> String,
        _ body: (Database) throws -> T
    ) throws(StorageError) -> T {
        guard snapshot == nil else { throw Self.snapshotIsReadOnly }
        do {
            return try writer.write(body)
        } catch {
            throw Self.storageError(error, while: what())
        }
    }

    /// Runs `body` on the writer connection on the calling thread (GRDB's synchronous overload).
    private func onCallersThread<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.writeWithoutTransaction(body)
    }

    /// Runs `body` in one write transaction, which rolls back if it throws, mapping every failure to a
    /// ``StorageError``.
    func write<T: Sendable>(
        _ what: @autoclosure () -> String,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StorageError) -> T {
        guard snapshot == nil else { throw Self.snapshotIsReadOnly }
        do {
            return try await writer.write(body)
        } catch {
            throw Self.storageError(error, while: what())
        }
    }
}
