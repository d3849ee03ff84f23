import ArgumentParser
import Foundation
import HealthSync
import HealthSyncExport
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `healthsync export`: health over time from the event record, for Prometheus' backfill, InfluxDB or OpenTSDB.
struct ExportCommand: ConsoleCommand {
    /// `--format`.
    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// OpenMetrics with timestamps and `# EOF` (`promtool tsdb create-blocks-from openmetrics`).
        case openmetrics
        /// InfluxDB 1.x line protocol (`/write`).
        case influx
        /// The JSON array of OpenTSDB's `/api/put`.
        case opentsdb

        var exportFormat: HealthExportFormat {
            switch self {
            case .openmetrics: .openMetrics
            case .influx: .influx
            case .opentsdb: .openTSDB
            }
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the health of every check state over time (every change at its time) for Prometheus, "
            + "InfluxDB or OpenTSDB.",
        discussion: """
            Values: 0 CLEAR, 1 DEVIATING, 2 CRITICAL, and -1 when a check state is deleted, which ends its series. \
            openmetrics is for promtool tsdb create-blocks-from openmetrics (Prometheus' backfill; add --step 1m, \
            since Prometheus shows a sample for only 5 minutes); influx is InfluxDB 1.x line protocol for /write \
            (measurement health); opentsdb is the JSON array of /api/put, with tag values encoded as Docs/timeseries.md \
            says. With --since, every check state alive then is written at --since first. The export is streamed: \
            the event record is read a page at a time. Exit status 1 when --urn names no stream.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("Only this stream.", valueName: "urn"))
    var urn: String?

    @Option(
        help: ArgumentHelp("Start: the state at TIME, then the events at or after it.", valueName: "time"),
        transform: TimeArgument.parse)
    var since: TimeArgument?

    @Option(
        help: ArgumentHelp(
            "End: the events at or before TIME (default: all; --step repeats up to the clock).",
            valueName: "time"),
        transform: TimeArgument.parse)
    var until: TimeArgument?

    @Option(help: "Output format.")
    var format: Format

    @Option(
        help: ArgumentHelp(
            "Write every live check state again at each multiple of DURATION between its changes (1m for a "
                + "Prometheus backfill); default: changes only.",
            valueName: "duration"))
    var step: DurationArgument?

    @Option(help: ArgumentHelp("Write to PATH instead of standard output.", valueName: "path"))
    var output: String?

    func validate() throws {
        if let since, let until, until.date < since.date {
            throw ValidationError("--until must not be earlier than --since.")
        }
    }

    func execute(console: Console) async throws {
        let store = try await database.openStore(creating: false, readOnly: true, console: console)
        if let urn { try await KnownStream.require(urn, in: store, console: console) }
        let export = HealthHistoryExport(
            format: format.exportFormat, urn: urn, since: since?.date, until: until?.date, step: step?.seconds)
        let progress = ProgressLine(console: console)
        guard let output else {
            try await export.run(from: store, to: { console.output.write($0) }, progress: progress.update)
            progress.end()
            return
        }
        let partial = output + ".partial"
        let handle: FileHandle
        do {
            guard FileManager.default.createFile(atPath: partial, contents: nil) else {
                throw CocoaError(.fileWriteUnknown)
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
        } catch {
            console.printError("error: cannot write \(partial): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        let counts: HealthExportProgress
        do {
            defer { try? handle.close() }
            counts = try await export.run(
                from: store, to: { try handle.write(contentsOf: Data($0.utf8)) }, progress: progress.update)
            try handle.synchronize()
        } catch let error as StorageError {
            progress.end()
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        } catch {
            progress.end()
            try? FileManager.default.removeItem(atPath: partial)
            console.printError("error: cannot write \(partial): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        progress.end()
        // rename(2) replaces an existing file in one step: a reader sees the old export or the new one, whole.
        guard rename(partial, output) == 0 else {
            console.printError("error: cannot write \(output): \(String(cString: strerror(errno)))")
            try? FileManager.default.removeItem(atPath: partial)
            throw ExitCode(2)
        }
        console.print(
            "wrote \(ReplayCommand.plural(counts.samples, "sample")) from \(ReplayCommand.plural(counts.events, "event")) "
                + "to \(output) (\(format.rawValue))")
    }
}

/// The progress line of a long export on standard error: shown only when standard error is a terminal, redrawn at
/// most twice a second.
final class ProgressLine: Sendable {
    private let console: Console?
    private let state = Mutex<(last: ContinuousClock.Instant?, shown: Bool)>((nil, false))

    /// A progress line on `console`'s errors when they go to a terminal.
    init(console: Console) {
        let terminal = console.errors is FileHandleOutput && isatty(STDERR_FILENO) == 1
        self.console = terminal ? console : nil
    }

    /// Redraws the line with `progress`, unless it was drawn less than half a second ago.
    func update(_ progress: HealthExportProgress) {
        guard let console else { return }
        let now = ContinuousClock.now
        let draw = state.withLock { state in
            if let last = state.last, now - last < .milliseconds(500) { return false }
            state = (now, true)
            return true
        }
        guard draw else { return }
        let at = progress.at.map { " up to \(TimeArgument.format($0))" } ?? ""
        console.errors.write(
            "\r\u{1B}[2Kexport: \(progress.events) events read, \(progress.samples) samples written\(at)")
    }

    /// Ends the line, if one was drawn.
    func end() {
        guard let console, state.withLock({ $0.shown }) else { return }
        console.errors.write("\n")
    }
}
