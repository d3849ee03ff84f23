import ArgumentParser
import Foundation
import HealthSyncAudit
import HealthSyncConsole
import Logging

/// `--verbose`: log processing to standard error.
struct LoggingOptions: ParsableArguments {
    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Log each processing decision to standard error: every check state created, changed or deleted, every "
                + "snapshot, timer and error, with its time and cause."))
    var verbose = false

    /// The logger handed to the processor: debug level to standard error with `--verbose`, silent otherwise.
    ///
    /// The handler is chosen per logger rather than by `LoggingSystem.bootstrap`, which may run only once per
    /// process and would make commands unrepeatable in tests.
    func makeLogger() -> Logger {
        guard verbose else { return Logger(label: "healthsync", factory: { _ in SwiftLogNoOpLogHandler() }) }
        var logger = Logger(
            label: "healthsync", factory: { TerminalSafeLogHandler(StreamLogHandler.standardError(label: $0)) })
        logger.logLevel = .debug
        return logger
    }
}

/// A log handler that escapes control characters (ANSI and OSC sequences, tabs) in messages and metadata before its
/// wrapped handler writes them, and writes line breaks as `\n`, so that every record stays one line: check-state ids,
/// names and error messages come from remote sources and must neither reach an operator's terminal raw nor forge a
/// log line.
struct TerminalSafeLogHandler: LogHandler {
    private var wrapped: any LogHandler

    /// Wraps `handler`.
    init(_ handler: any LogHandler) {
        wrapped = handler
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var safe = event
        safe.message = "\(Self.oneLine(event.message.description))"
        safe.metadata = event.metadata?.mapValues(Self.escaped)
        wrapped.log(event: safe)
    }

    /// `text` escaped, on one line.
    static func oneLine(_ text: String) -> String {
        TerminalText.escaped(text).replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func escaped(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(oneLine(text))
        case .stringConvertible(let value): .string(oneLine(value.description))
        case .array(let values): .array(values.map(escaped))
        case .dictionary(let values): .dictionary(values.mapValues(escaped))
        }
    }
}
