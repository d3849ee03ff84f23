import ArgumentParser
import Foundation
import HealthSync
import HealthSyncAudit

/// `healthsync audit`: an offline audit of snapshot histories, from payload files or a database.
struct AuditCommand: ConsoleCommand {
    /// `--format`.
    enum ReportFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// For a terminal; leads with what needs attention.
        case text
        /// The ``HealthSyncAudit/AuditReport`` as JSON.
        case json
        /// One self-contained HTML page with timelines.
        case html
    }

    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit snapshot histories: cadence, late windows, missing stops, expiries, errors, flapping and "
            + "suspicious deletions per stream, sub-stream and check state.",
        discussion: """
            Given payload files (or directories of them, as replay takes them), they are replayed into memory and \
            audited: no database is needed, and their validation findings are listed with FILE:LINE and JSON path. \
            Without files the database (--db, default healthsync.sqlite) is audited over its retained event window. \
            The text report leads with what needs attention; json is the machine contract; html is one \
            self-contained page. Definitions: Docs/audit.md. Exit status 0 when the audit ran, whatever it found.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The database to audit (when no FILE is given).", valueName: "path"))
    var db: String?

    @Option(help: "Report format.")
    var format = ReportFormat.text

    @Option(help: ArgumentHelp("Write the report to PATH instead of standard output.", valueName: "path"))
    var output: String?

    @Option(help: ArgumentHelp("Only this stream.", valueName: "urn"))
    var urn: String?

    @Option(
        help: ArgumentHelp("Start of the audited period (default: the start of the record).", valueName: "time"),
        transform: TimeArgument.parse)
    var since: TimeArgument?

    @Option(
        help: ArgumentHelp(
            "End of the audited period (default: the clock); with FILEs, the replay advances the clock to it.",
            valueName: "time"), transform: TimeArgument.parse)
    var until: TimeArgument?

    @Option(
        help: ArgumentHelp("With FILEs: advance the clock to TIME before the first envelope.", valueName: "time"),
        transform: TimeArgument.parse)
    var start: TimeArgument?

    @Flag(help: "With FILEs: report unknown keys and reject non-main sub-streams without expiry, as replay --strict.")
    var strict = false

    @OptionGroup var grace: LateGraceOptions

    @Option(help: ArgumentHelp("Flap score above which a check state starts flapping.", valueName: "percent"))
    var flapHigh: Double = 50

    @Option(help: ArgumentHelp("Flap score below which a flapping check state stops.", valueName: "percent"))
    var flapLow: Double = 25

    @Option(
        help: ArgumentHelp(
            "A deleted check state back within this many snapshots is a suspicious deletion.", valueName: "count")
    )
    var suspiciousWithin: Int = 3

    @Argument(help: ArgumentHelp("Payload files or directories to replay and audit.", valueName: "file"))
    var files: [String] = []

    func validate() throws {
        if db != nil, !files.isEmpty {
            throw ValidationError("Give either --db or payload files, not both.")
        }
        guard flapLow.isFinite, flapHigh.isFinite, 0 <= flapLow, flapLow <= flapHigh, flapHigh <= 100 else {
            throw ValidationError("--flap-low and --flap-high must satisfy 0 ≤ low ≤ high ≤ 100.")
        }
        if suspiciousWithin < 1 { throw ValidationError("--suspicious-within must be at least 1.") }
        if let since, let until, until.date < since.date {
            throw ValidationError("--until must not be earlier than --since.")
        }
        if start != nil, files.isEmpty { throw ValidationError("--start only applies to payload files.") }
    }

    func execute(console: Console) async throws {
        let input: AuditInput
        if files.isEmpty {
            let path = db ?? DatabaseOptions.defaultDatabase()
            let store = try await DatabaseOptions.openStore(at: path, creating: false, readOnly: true, console: console)
            input = try await AuditInput.load(
                from: store, source: DatabaseOptions.displayName(of: path), urn: urn, since: since?.date,
                until: until?.date)
        } else {
            var sources: [Replayer.Source] = []
            for file in try ReplayCommand.expand(files, console: console) {
                do {
                    let (bytes, digest) = try PayloadBytes.readWithDigest(path: file)
                    sources.append(Replayer.Source(name: file, bytes: bytes, digest: digest))
                } catch {
                    console.printError("error: cannot read \(file): \(error)")
                    throw ExitCode(2)
                }
            }
            input = try await AuditInput.replay(
                sources,
                decoder: EnvelopeDecoder(strict: strict),
                configuration: HealthProcessor.Configuration(lateGrace: grace.lateGrace.seconds),
                start: start?.date,
                urn: urn,
                since: since?.date,
                until: until?.date
            )
        }
        let analyzer = AuditAnalyzer(
            configuration: AuditConfiguration(
                lateGrace: grace.lateGrace.seconds,
                flapDetection: FlapDetection(highThreshold: flapHigh, lowThreshold: flapLow),
                suspiciousWithinSnapshots: suspiciousWithin
            ))
        let report = analyzer.analyze(input)
        let text: String
        switch format {
        case .text: text = TextReportRenderer().render(report) + "\n"
        case .json: text = String(decoding: try report.jsonData(), as: UTF8.self) + "\n"
        case .html: text = HTMLReportRenderer().render(report)
        }
        guard let output else {
            console.output.write(text)
            return
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            console.printError("error: cannot write \(output): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        console.print(
            "wrote the \(format.rawValue) report to \(output) (\(text.utf8.count) bytes); "
                + "\(ReplayCommand.plural(report.attention.count, "item")) need attention")
    }
}
