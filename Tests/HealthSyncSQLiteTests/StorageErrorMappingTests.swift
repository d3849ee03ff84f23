import GRDB
import HealthSync
import Testing

@testable import HealthSyncSQLite

/// How SQLite's result codes become ``StorageError`` codes: what may pass is `.unavailable` (served as 503 with
/// `retry-after`), damage is `.corrupt` (500), and callers never see GRDB's types.
@Suite struct StorageErrorMappingTests {
    static func mapped(_ code: ResultCode) -> StorageError {
        SQLiteHealthStore.storageError(DatabaseError(resultCode: code, message: "test"), while: "testing")
    }

    /// Read-side I/O errors, the WAL index, file locks and locks held past the busy timeout: the statement failed,
    /// nothing was written, and it may work later.
    @Test(arguments: [
        ResultCode.SQLITE_IOERR, .SQLITE_IOERR_READ, .SQLITE_IOERR_SHORT_READ, .SQLITE_IOERR_SHMOPEN,
        .SQLITE_IOERR_SHMSIZE, .SQLITE_IOERR_SHMMAP, .SQLITE_IOERR_SHMLOCK, .SQLITE_IOERR_LOCK,
        .SQLITE_IOERR_RDLOCK, .SQLITE_IOERR_UNLOCK, .SQLITE_IOERR_CHECKRESERVEDLOCK, .SQLITE_IOERR_FSTAT,
        .SQLITE_IOERR_ACCESS, .SQLITE_IOERR_NOMEM, .SQLITE_IOERR_MMAP, .SQLITE_BUSY, .SQLITE_BUSY_RECOVERY,
        .SQLITE_BUSY_TIMEOUT, .SQLITE_LOCKED, .SQLITE_LOCKED_SHAREDCACHE, .SQLITE_PROTOCOL,
    ])
    func transientReadAndLockFailuresAreUnavailable(code: ResultCode) {
        let error = Self.mapped(code)
        #expect(error.code == .unavailable, "\(code) → \(error)")
        #expect(error.message.hasPrefix("testing: "), "the message says what failed: \(error.message)")
    }

    /// The write-side I/O errors were mapped before: still `.unavailable`.
    @Test(arguments: [
        ResultCode.SQLITE_IOERR_WRITE, .SQLITE_IOERR_FSYNC, .SQLITE_IOERR_DIR_FSYNC, .SQLITE_IOERR_TRUNCATE,
        .SQLITE_CANTOPEN,
    ])
    func writeFailuresStayUnavailable(code: ResultCode) {
        #expect(Self.mapped(code).code == .unavailable)
    }

    /// Damage is not retried: SQLite's own corruption codes and the I/O errors that report damage.
    @Test(arguments: [
        ResultCode.SQLITE_CORRUPT, .SQLITE_CORRUPT_INDEX, .SQLITE_CORRUPT_SEQUENCE, .SQLITE_NOTADB,
        .SQLITE_IOERR_CORRUPTFS, .SQLITE_IOERR_DATA,
    ])
    func damageIsCorrupt(code: ResultCode) {
        #expect(Self.mapped(code).code == .corrupt)
    }

    @Test func theOtherCodesKeepTheirMapping() {
        #expect(Self.mapped(.SQLITE_FULL).code == .full)
        #expect(Self.mapped(.SQLITE_READONLY).code == .readOnly)
        #expect(Self.mapped(.SQLITE_READONLY_DBMOVED).code == .readOnly)
        #expect(Self.mapped(.SQLITE_CONSTRAINT_FOREIGNKEY).code == .conflict)
        #expect(Self.mapped(.SQLITE_BUSY_SNAPSHOT).code == .conflict, "another connection wrote: reload and retry")
        #expect(Self.mapped(.SQLITE_CONSTRAINT).code == .failed)
        #expect(Self.mapped(.SQLITE_CONSTRAINT_UNIQUE).code == .failed)
        #expect(Self.mapped(.SQLITE_ERROR).code == .failed)
        #expect(Self.mapped(.SQLITE_MISUSE).code == .failed)
    }

    @Test func aStorageErrorPassesThroughUnchanged() {
        let error = StorageError(code: .duplicateReceipt, message: "receipt r")
        #expect(SQLiteHealthStore.storageError(error, while: "testing") == error)
    }
}
