import ArgumentParser
import Foundation
import HealthSync

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The advisory lock that keeps two writers off one database: `flock(LOCK_EX | LOCK_NB)` on `PATH.lock` next to
/// the database, held for the writer's lifetime, with the holder's description written into the file.
///
/// The lock is on a file of its own, never on the database: closing any descriptor of the database file drops
/// SQLite's POSIX locks. The kernel releases it when the process exits, however it exits, so a killed writer leaves
/// no stale lock (the file stays, with the last holder's description, and is taken again by the next writer).
/// Readers take no lock.
final class WriterLock: Sendable {
    /// The lock file's descriptor, or -1 when no lock could be taken (see ``acquire(database:command:console:)``);
    /// kept open until the lock is released with the last reference.
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// No lock: what a database with writers of its own kind (PostgreSQL, whose writers check versions) takes.
    static var none: WriterLock { WriterLock(descriptor: -1) }

    /// Closing the descriptor releases the lock.
    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The lock file of `database`.
    static func path(of database: String) -> String { database + ".lock" }

    /// Takes the lock of `database` for `command` (such as `serve`), or fails at once when another writer holds it.
    ///
    /// When the lock file can be neither created nor opened (a read-only directory or file system), no lock is
    /// taken: opening the database for writing then fails with SQLite's own message.
    /// - Throws: `ExitCode(2)` after printing who holds the lock.
    static func acquire(database: String, command: String, console: Console) throws -> WriterLock {
        let path = path(of: database)
        var descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        let writable = descriptor >= 0
        if !writable { descriptor = open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { return WriterLock(descriptor: -1) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure = errno
            let holder = contents(of: descriptor)
            close(descriptor)
            if failure == EWOULDBLOCK {
                let who = holder.isEmpty ? "another healthsync writer" : holder
                console.printError(
                    "error: \(database) is held by \(who); stop it or use another --db "
                        + "(streams, state, status, history, diff and audit still read it)")
            } else {
                console.printError("error: cannot lock \(path): \(String(cString: strerror(failure)))")
            }
            throw ExitCode(2)
        }
        if writable {
            let holder =
                "healthsync \(command) (pid \(getpid())) since \(TimeArgument.format(SystemClock().now))\n"
            _ = ftruncate(descriptor, 0)
            _ = holder.utf8CString.withUnsafeBufferPointer { pwrite(descriptor, $0.baseAddress, $0.count - 1, 0) }
        }
        return WriterLock(descriptor: descriptor)
    }

    /// The holder's description in the lock file, one line, at most 512 bytes.
    private static func contents(of descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "" }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return String(text.prefix { $0 != "\n" }.filter { !$0.isASCII || $0.asciiValue.map { $0 >= 0x20 } == true })
    }
}
