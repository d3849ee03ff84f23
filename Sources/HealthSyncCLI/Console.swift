import Foundation

/// Somewhere text can be written: a terminal stream, or a buffer in tests.
protocol TextOutput: Sendable {
    /// Writes `text` as is (no newline is added).
    func write(_ text: String)
}

/// Writes to a file handle, such as standard output.
struct FileHandleOutput: TextOutput {
    /// The handle written to.
    let handle: FileHandle

    func write(_ text: String) {
        handle.write(Data(text.utf8))
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
