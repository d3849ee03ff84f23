import Foundation
import Logging
import Synchronization
import Testing

@testable import HealthSyncCLI

/// `--verbose` logs each processing decision, one line each, safe for a terminal.
@Suite struct VerboseLoggingTests {
    @Test func verboseReplayLogsEveryDecisionWithItsTimeAndCause() async throws {
        try await Workspace.with { workspace in
            let directory = workspace.directory
            let file = directory.appendingPathComponent("two.json")
            try Data(Payloads.twoStreams.utf8).write(to: file)
            let arguments = ["replay", "--db", "h.sqlite", "--until", "1200", file.path]

            let quiet = try await Executable.run(arguments, in: directory)
            #expect(quiet.status == 0)
            #expect(quiet.errors == "", "without --verbose nothing is logged")

            try FileManager.default.removeItem(at: directory.appendingPathComponent("h.sqlite"))
            let verbose = try await Executable.run(arguments + ["--verbose"], in: directory)
            #expect(verbose.status == 0, "\(verbose.errors)")
            #expect(verbose.output == quiet.output, "--verbose changes only standard error")
            let lines = verbose.errors.split(separator: "\n").map(String.init)
            for decision in [
                "1970-01-01T00:16:40Z urn:health:a:main sub-stream eu check e1: created",
                "1970-01-01T00:16:40Z urn:health:b:ti main: first message (TRANSACTIONAL_INCREMENTS)",
                "1970-01-01T00:17:40Z urn:health:a:main sub-stream eu: SubStreamLateData opened: no snapshot "
                    + "completed within repeat_interval_s (60 s): it was due by 1970-01-01T00:17:40Z",
                "1970-01-01T00:18:40Z urn:health:a:main sub-stream eu check e2: deleted by sub-stream expiry",
            ] {
                #expect(lines.contains { $0.hasSuffix(decision) }, "logged: \(decision)")
            }
        }
    }

    @Test func logLinesWriteOutControlCharactersAndStayOnOneLine() {
        let captured = CapturedLog()
        var logger = Logger(label: "test", factory: { _ in TerminalSafeLogHandler(CapturingHandler(log: captured)) })
        logger.logLevel = .debug
        logger.debug("id \u{1B}]0;owned\u{07} next\nforged line", metadata: ["name": "\u{9B}2J\ttab"])
        let records = captured.records.withLock { $0 }
        #expect(records.count == 1)
        #expect(records.first?.message == #"id \u{1B}]0;owned\u{7} next\nforged line"#)
        #expect(records.first?.metadata["name"] == #"\u{9B}2J\ttab"#)
    }
}

/// What a ``CapturingHandler`` was given.
private final class CapturedLog: Sendable {
    struct Record: Sendable {
        var message: String
        var metadata: [String: String]
    }

    let records = Mutex<[Record]>([])
}

/// A log handler that keeps what it is given.
private struct CapturingHandler: LogHandler {
    let log: CapturedLog
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).mapValues { "\($0)" }
        log.records.withLock { $0.append(.init(message: "\(event.message)", metadata: metadata)) }
    }
}
