import Foundation
internal import GRDB
internal import GRDBSQLite
import HealthSync

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files a store opened on disk, identified by device and inode, so that later checks can tell whether the path
/// still names them.
struct DatabaseFiles: Sendable {
    /// A file's identity, as `stat(2)` gives it.
    struct Identity: Sendable, Equatable, CustomStringConvertible {
        var device: UInt64
        var inode: UInt64

        var description: String { "device \(device), inode \(inode)" }
    }

    /// The database file's path.
    let path: String
    /// The database file as opened.
    let database: Identity
    /// The `-wal` and `-shm` files as found once the store was open (SQLite keeps them while a connection is open).
    let companions: [(suffix: String, identity: Identity)]
    /// The page size read at open, which the header must keep.
    let pageSize: Int
    /// Whether the store only reads (its `-shm` need not be writable).
    let readOnly: Bool
    /// Whether a path may be written by this process: `access(2)` with `W_OK` (see ``SQLiteHealthStore/checkFile()``).
    let isWritable: @Sendable (String) -> Bool

    /// The identity of the file at `path`, or the `errno` of `stat(2)`.
    static func identity(of path: String) -> Result<Identity, POSIXError> {
        var status = stat()
        guard stat(path, &status) == 0 else { return .failure(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)) }
        return .success(
            Identity(
                device: UInt64(truncatingIfNeeded: status.st_dev), inode: UInt64(truncatingIfNeeded: status.st_ino))
        )
    }

    /// `access(path, W_OK)`: false for an immutable file (`chattr +i`, even for root), a read-only file system, or
    /// mode bits that forbid it (except for root, whom they do not stop).
    static func accessWritable(_ path: String) -> Bool {
        access(path, W_OK) == 0
    }
}

extension SQLiteHealthStore: HealthStoreProbing {
    /// Checks, with `stat(2)` and `access(2)` on the paths only, that the database file, its `-wal` and its `-shm` are
    /// still the files this store opened, and that the `-shm` (the WAL index SQLite maps into memory) can be
    /// written. A few microseconds; the in-memory store always passes.
    ///
    /// A file deleted (or moved away) under the open store still takes commits, but into an inode no path names:
    /// every commit since is gone at the next start. A file replaced by another is not the one the store writes.
    /// An `-shm` that cannot be written makes the next write that touches the WAL index fault (`SIGBUS`), which SQLite
    /// cannot turn into an error (Docs/reliability.md, "Hostile clients").
    /// - Throws: ``HealthSync/StorageError/Code/unavailable`` naming the file and the problem.
    public func checkFile() throws(StorageError) {
        guard let files else { return }
        func unavailable(_ problem: String, _ remedy: String = "restart the service to reopen it") -> StorageError {
            StorageError(code: .unavailable, message: "the database file \(problem); \(remedy)")
        }
        for (suffix, expected) in [("", files.database)] + files.companions {
            let path = files.path + suffix
            switch DatabaseFiles.identity(of: path) {
            case .failure(let error) where error.code == .ENOENT:
                throw unavailable(
                    "\(path) was deleted or moved away while open: commits would go to a file that is gone at the "
                        + "next start")
            case .failure(let error):
                throw unavailable("\(path) cannot be examined: \(error.localizedDescription)")
            case .success(let identity) where identity != expected:
                throw unavailable(
                    "\(path) was replaced while open (now \(identity), opened \(expected)): commits would go to the "
                        + "replaced file")
            case .success:
                break
            }
        }
        if !files.readOnly {
            let shm = files.path + "-shm"
            if !files.isWritable(shm) {
                throw unavailable(
                    "\(shm) (the WAL index) cannot be written (immutable, or a read-only file system): the next write "
                        + "would kill the process with SIGBUS", "make it writable again (chattr -i)")
            }
        }
    }

    /// ``checkFile()``, then the database file's header and size as the writer connection's own file descriptor
    /// sees them (an `fstat(2)` and a 100-byte `pread(2)` through SQLite's VFS, after the commit in progress): the
    /// header must start with `SQLite format 3`, keep the page size the store opened with, and the file must hold
    /// at least the pages the header counts, in whole pages. A truncated or overwritten file fails; the file's
    /// contents past the header are not read (`PRAGMA quick_check` reads every page: minutes on a large file).
    ///
    /// Another process's checkpoint writes the header before the pages that grow the file: a probe that runs
    /// between the two sees a short file once, so callers confirm a failure on the next probe.
    /// - Throws: ``HealthSync/StorageError/Code/unavailable`` naming the problem.
    public func probe() async throws(StorageError) {
        try checkFile()
        guard let files else { return }
        let problem: String?
        do {
            problem = try await writer.writeWithoutTransaction { db in
                Self.headerProblem(db.sqliteConnection, pageSize: files.pageSize)
            }
        } catch {
            throw Self.storageError(error, while: "probing \(files.path)")
        }
        if let problem {
            throw StorageError(
                code: .unavailable,
                message: "the database file \(files.path) is damaged: \(problem); stop the service and restore it")
        }
    }

    /// What is wrong with the main database file's header and size, read through the connection's open file, or
    /// `nil` when they agree (or the VFS offers no file to read).
    static func headerProblem(_ connection: OpaquePointer?, pageSize: Int) -> String? {
        var pointer: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(connection, "main", SQLITE_FCNTL_FILE_POINTER, &pointer) == SQLITE_OK,
            let file = pointer, let methods = file.pointee.pMethods,
            let fileSize = methods.pointee.xFileSize, let read = methods.pointee.xRead
        else { return nil }
        var size: sqlite3_int64 = 0
        let sizeStatus = fileSize(file, &size)
        guard sizeStatus == SQLITE_OK else { return "its size cannot be read (SQLite error \(sizeStatus))" }
        guard size >= 100 else { return "it is \(size) bytes long (truncated: a database holds at least one page)" }
        var header = [UInt8](repeating: 0, count: 100)
        let readStatus = header.withUnsafeMutableBytes { read(file, $0.baseAddress, 100, 0) }
        guard readStatus == SQLITE_OK else { return "its header cannot be read (SQLite error \(readStatus))" }
        guard header.starts(with: Array("SQLite format 3\0".utf8)) else {
            return "its header does not start with \"SQLite format 3\" (overwritten)"
        }
        func bigEndian(_ offset: Int, _ count: Int) -> Int {
            header[offset..<(offset + count)].reduce(0) { $0 << 8 | Int($1) }
        }
        let storedPageSize = bigEndian(16, 2) == 1 ? 65_536 : bigEndian(16, 2)
        guard storedPageSize == pageSize else {
            return "its header gives a page size of \(storedPageSize) bytes, not \(pageSize)"
        }
        guard size % Int64(pageSize) == 0 else {
            return "it is \(size) bytes long, not a whole number of \(pageSize)-byte pages (truncated)"
        }
        // The page count in the header is valid when the change counter equals the "version valid for" number.
        let pageCount = bigEndian(28, 4)
        if bigEndian(24, 4) == bigEndian(92, 4), Int64(pageCount) * Int64(pageSize) > size {
            return "it is \(size) bytes long but its header counts \(pageCount) pages of \(pageSize) bytes (truncated)"
        }
        return nil
    }
}
