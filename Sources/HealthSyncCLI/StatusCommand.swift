import ArgumentParser
import Foundation
import HealthSync
import HealthSyncAudit
import HealthSyncConsole

/// `healthsync status`: one stream's status (SPEC §6).
struct StatusCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a stream's status: model, errors, and per sub-stream intervals or checkpoint, snapshot, "
            + "last message, deadlines and metrics.",
        discussion: """
            With --sub-stream only that sub-stream is shown, with the stream-level errors that name it. \
            Exit status 1 when there is no such stream (or nothing about that sub-stream).
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: ArgumentHelp("The stream.", valueName: "urn"))
    var urn: String

    @Option(help: ArgumentHelp("Only this sub-stream (\"\" for main).", valueName: "id"))
    var subStream: String?

    @Option(help: "Output format.")
    var format = OutputFormat.table

    func execute(console: Console) async throws {
        let store = try await database.openStore(creating: false, readOnly: true, console: console)
        guard var status = try await store.status(of: urn) else {
            console.printError("error: no stream \(urn)")
            throw ExitCode(1)
        }
        if let subStream {
            status.subStreams = status.subStreams.filter { $0.record.key.subStreamId == subStream }
            status.errors = status.errors.filter { $0.key.subStreamId == subStream }
            if status.subStreams.isEmpty, status.errors.isEmpty {
                let name = subStream.isEmpty ? "main sub-stream" : "sub-stream \(subStream)"
                console.printError("error: stream \(urn) has no \(name)")
                throw ExitCode(1)
            }
        }
        let clock = try await store.clock()
        switch format {
        case .json: console.print(try OutputFormat.json(JSONContract.StatusDocument(status, clock: clock)))
        case .table: console.print(Self.table(status, clock: clock))
        }
    }

    /// The status as text: a header (with the processor clock), then titled tables of the sub-streams, their
    /// counters and the open errors.
    static func table(_ status: StreamStatus, clock: Date?) -> String {
        let snapshots = status.consistencyModel == .repeatSnapshots
        let subStreams = status.subStreams.sorted { $0.record.key < $1.record.key }
        let clockText = clock.map { "\(TimeArgument.format($0)) (the processor clock; deadlines before it have fired)" }
        var sections = [
            "stream  \(status.urn)\nmodel   \(status.consistencyModel.rawValue)\nclock   \(clockText ?? "not set")"
        ]

        if subStreams.isEmpty {
            sections.append("no sub-streams")
        } else {
            var table = TextTable(headers: [
                "SUB-STREAM", "CHECK STATES", "REPEAT", "EXPIRY", "SNAPSHOT", "CHECKPOINT", "LAST MESSAGE",
                "NEXT DEADLINE",
            ])
            var metrics = TextTable(headers: ["SUB-STREAM", "MESSAGES", "CREATES", "UPDATES", "DELETES", "LATENCY"])
            for subStream in subStreams {
                let record = subStream.record
                table.append([
                    record.key.publicSubStreamId, String(subStream.checkStateCount),
                    record.intervals.map { "\($0.repeatInterval)s" }, record.intervals?.expiry.map { "\($0)s" },
                    snapshots ? snapshot(of: record) : nil, record.checkpoint?.description,
                    TimeArgument.format(record.lastMessageAt),
                    record.nextDeadline.map(TimeArgument.format),
                ])
                let counters = record.metrics
                let latency = counters.messages > 0 ? counters.totalLatency / Double(counters.messages) : nil
                metrics.append([
                    record.key.publicSubStreamId, String(counters.messages), String(counters.creates),
                    String(counters.updates), String(counters.deletes), latency.map { "\(formatSeconds($0)) avg" },
                ])
            }
            sections.append("Sub-streams\n" + table.render())
            sections.append("Messages and changes since each sub-stream was created\n" + metrics.render())
        }

        let errors =
            status.errors.map { (scope: "stream", record: $0) }
            + subStreams.flatMap { $0.errors.map { (scope: "sub-stream", record: $0) } }
        if errors.isEmpty {
            sections.append("no open errors")
        } else {
            var table = TextTable(headers: [
                "SCOPE", "SUB-STREAM", "CODE", "LEVEL", "COUNT", "FIRST SEEN", "LAST SEEN", "MESSAGE",
            ])
            for (scope, record) in errors {
                table.append([
                    scope, record.key.subStreamId, record.code.rawValue, record.level.rawValue, String(record.count),
                    TimeArgument.format(record.firstSeenAt), TimeArgument.format(record.lastSeenAt), record.message,
                ])
            }
            sections.append("Open errors\n" + table.render())
        }
        return sections.joined(separator: "\n\n")
    }

    /// `open since TIME` or `closed`.
    private static func snapshot(of record: SubStreamRecord) -> String {
        guard let open = record.openSnapshot else { return "closed" }
        return "open since \(TimeArgument.format(open.startedAt))"
    }

    /// Seconds with at most three decimals: `0.25s`, `12s`.
    private static func formatSeconds(_ seconds: Double) -> String {
        seconds.formatted(.number.grouping(.never).precision(.fractionLength(0...3))) + "s"
    }
}
