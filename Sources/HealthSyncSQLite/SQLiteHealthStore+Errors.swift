internal import GRDB
import HealthSync

extension SQLiteHealthStore {
    /// Maps any failure to a ``StorageError``, so that callers never see GRDB or SQLite types.
    ///
    /// - `SQLITE_FULL` → ``StorageError/Code/full``; `SQLITE_READONLY` → ``StorageError/Code/readOnly``;
    ///   `SQLITE_CORRUPT`, `SQLITE_NOTADB`, the I/O errors that report damage (`SQLITE_IOERR_CORRUPTFS`,
    ///   `SQLITE_IOERR_DATA`) and undecodable rows → ``StorageError/Code/corrupt``;
    ///   `SQLITE_CANTOPEN` and failed writes of the file (`SQLITE_IOERR_WRITE`, `_FSYNC`, `_DIR_FSYNC`, `_TRUNCATE`:
    ///   an immutable file, a file system remounted read-only, a failing disk) → ``StorageError/Code/unavailable``.
    /// - Every other I/O error — reads (`SQLITE_IOERR_READ`, `_SHORT_READ`), the WAL index (`_SHMOPEN`, `_SHMSIZE`,
    ///   `_SHMMAP`, `_SHMLOCK`), file locks, plain `SQLITE_IOERR` — and a lock still held by another connection when
    ///   the busy timeout ran out (`SQLITE_BUSY`, `SQLITE_LOCKED`, `SQLITE_PROTOCOL`) → ``StorageError/Code/unavailable``:
    ///   the statement failed and nothing was written, and the same statement may work later (a disk that comes
    ///   back, a lock that is released). SQLite reports damage it detects as `SQLITE_CORRUPT`, not as an I/O error.
    /// - A foreign-key violation while committing means the change refers to a stream or sub-stream that is not
    ///   stored (another writer deleted it after it was read): ``StorageError/Code/conflict``; so does
    ///   `SQLITE_BUSY_SNAPSHOT` (another connection wrote since this transaction's snapshot was taken).
    /// - Anything else, cancellation included → ``StorageError/Code/failed``.
    static func storageError(_ error: any Error, while what: String) -> StorageError {
        switch error {
        case let error as StorageError:
            return error
        case let error as DatabaseError:
            let code: StorageError.Code
            switch error.extendedResultCode {
            case .SQLITE_CONSTRAINT_FOREIGNKEY:
                return StorageError(
                    code: .conflict,
                    message: "\(what): the change refers to a stream or sub-stream that is not stored "
                        + "(deleted by another writer?): \(error)"
                )
            case .SQLITE_FULL: code = .full
            case .SQLITE_READONLY: code = .readOnly
            case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_IOERR_CORRUPTFS, .SQLITE_IOERR_DATA: code = .corrupt
            case .SQLITE_CANTOPEN: code = .unavailable
            case .SQLITE_BUSY_SNAPSHOT:
                return StorageError(
                    code: .conflict, message: "\(what): another connection wrote since this transaction began: \(error)"
                )
            case .SQLITE_IOERR_WRITE, .SQLITE_IOERR_FSYNC, .SQLITE_IOERR_DIR_FSYNC, .SQLITE_IOERR_TRUNCATE:
                // The file refused a write: made immutable, its file system remounted read-only after an error
                // (EPERM, EROFS), or the disk failed (EIO). The transaction rolled back; writes may work later.
                return StorageError(
                    code: .unavailable, message: "\(what): the database file cannot be written now: \(error)")
            case .SQLITE_IOERR:
                // Any other I/O error (a read, the WAL index, a lock): EIO from a failing disk or a network file
                // system that went away. The statement failed; nothing was written; it may work later.
                return StorageError(
                    code: .unavailable, message: "\(what): the database file cannot be read or locked now: \(error)")
            case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_PROTOCOL:
                // Another connection or process held a lock for longer than the busy timeout.
                return StorageError(code: .unavailable, message: "\(what): the database is locked: \(error)")
            default: code = .failed
            }
            return StorageError(code: code, message: "\(what): \(error)")
        case let error as RowDecodingError:
            return StorageError(code: .corrupt, message: "\(what): unexpected stored value: \(error)")
        case is CancellationError:
            return StorageError(code: .failed, message: "\(what): cancelled")
        default:
            return StorageError(code: .failed, message: "\(what): \(error)")
        }
    }

    /// The error for a stored value that none of the model's cases spell.
    static func corrupt(_ column: String, _ value: String) -> StorageError {
        StorageError(code: .corrupt, message: "unexpected value '\(value)' in column \(column)")
    }
}
