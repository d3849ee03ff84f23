import ArgumentParser
import Logging

/// `--verbose`: log processing to standard error.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .long, help: "Log processing details to standard error.")
    var verbose = false

    /// The logger handed to the processor: debug level to standard error with `--verbose`, silent otherwise.
    ///
    /// The handler is chosen per logger rather than by `LoggingSystem.bootstrap`, which may run only once per
    /// process and would make commands unrepeatable in tests.
    func makeLogger() -> Logger {
        guard verbose else { return Logger(label: "healthsync", factory: { _ in SwiftLogNoOpLogHandler() }) }
        var logger = Logger(label: "healthsync", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .debug
        return logger
    }
}
