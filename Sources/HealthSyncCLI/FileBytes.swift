import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole files read into byte arrays without a `Data` in between: a replayed capture is held in memory once, not
/// twice (a 155 MB capture peaked at 350 MB resident when it was read as `Data` and copied).
enum FileBytes {
    /// The bytes of the file at `path`, or of standard input when `path` is `nil`.
    /// - Throws: `POSIXError` with the reason the file cannot be read (`ENOENT`, `EACCES`, `EISDIR`, …).
    static func contents(of path: String?) throws(POSIXError) -> [UInt8] {
        guard let path else { return try contents(ofDescriptor: STDIN_FILENO) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw currentError() }
        defer { close(descriptor) }
        return try contents(ofDescriptor: descriptor)
    }

    /// Everything left to read from an open descriptor, up to its end.
    /// - Throws: `POSIXError` with the reason reading failed.
    static func contents(ofDescriptor descriptor: Int32) throws(POSIXError) -> [UInt8] {
        var status = stat()
        // A regular file's size is known: one allocation; a pipe grows by doubling.
        let size = fstat(descriptor, &status) == 0 && status.st_size > 0 ? Int(status.st_size) : 0
        var bytes = [UInt8](repeating: 0, count: max(size + 1, 1 << 16))
        var count = 0
        while true {
            if count == bytes.count { bytes += [UInt8](repeating: 0, count: bytes.count) }
            let received = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress.map { $0 + count }, buffer.count - count)
            }
            if received == 0 { break }
            if received < 0 {
                if errno == EINTR { continue }
                throw currentError()
            }
            count += received
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    private static func currentError() -> POSIXError {
        POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
}
