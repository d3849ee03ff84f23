import Foundation

/// Somewhere text can be written: a terminal stream, or a buffer in tests.
protocol TextOutput: Sendable {
    /// Writes `text` as is (no newline is added).
    func write(_ text: String)
}

/// Writes to a file handle, such as standard output.
///
/// A write that fails ends the process as command-line tools end, rather than crashing in Foundation (whose
/// `write(_:)` traps on any error):
/// - the reader went away (`EPIPE`, as in `healthsync state | head -1`): the process ends by `SIGPIPE`, silently, as
///   `cat` and `grep` do, so that a shell's `pipefail` sees what happened;
/// - anything else (`ENOSPC` when standard output is redirected to a full disk): a message on standard error and
///   exit status 1, never a silently truncated result.
struct FileHandleOutput: TextOutput {
    /// The handle written to.
    let handle: FileHandle

    func write(_ text: String) {
        do {
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            Self.writeFailed(error, descriptor: handle.fileDescriptor)
        }
    }

    /// Ends the process after a failed write to `descriptor`.
    static func writeFailed(_ error: any Error, descriptor: Int32) -> Never {
        let code = posixCode(of: error)
        if code == EPIPE {
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
        }
        if descriptor != STDERR_FILENO {
            let reason = code.map { String(cString: strerror($0)) } ?? "\(error)"
            let name = descriptor == STDOUT_FILENO ? "standard output" : "file descriptor \(descriptor)"
            try? FileHandle.standardError.write(contentsOf: Data("error: cannot write to \(name): \(reason)\n".utf8))
        }
        exit(1)
    }

    /// The `errno` behind a failed write: Foundation wraps it in `NSUnderlyingErrorKey`.
    static func posixCode(of error: any Error) -> Int32? {
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
        guard let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError else { return nil }
        return underlying.domain == NSPOSIXErrorDomain ? Int32(underlying.code) : nil
    }
}

/// Where a command prints: its results to ``output``, diagnostics to ``errors``.
///
/// Commands never print directly; they receive a console, so tests can run them with buffers and check the exact
/// text.
struct Console: Sendable {
    /// Results: summaries, tables, JSON.
    var output: any TextOutput
    /// Diagnostics: rejections, warnings, errors.
    var errors: any TextOutput

    /// Standard output and standard error.
    static var standard: Console {
        Console(
            output: FileHandleOutput(handle: .standardOutput),
            errors: FileHandleOutput(handle: .standardError)
        )
    }

    /// Prints `text` and a newline to ``output``.
    func print(_ text: String) {
        output.write(text + "\n")
    }

    /// Prints `text` and a newline to ``errors``.
    func printError(_ text: String) {
        errors.write(text + "\n")
    }
}
